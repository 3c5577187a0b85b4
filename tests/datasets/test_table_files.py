"""A table from one file or from every CSV/Parquet part under a folder (a SageMaker channel)."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io.core import DatasetError

from ml_on_aws.datasets import TableFilesDataset

TABLE = pd.DataFrame({"Age": [30, 41, 52, 23], "Home": ["rent", "own", "rent", "other"]})


def test_parts_in_sub_folders_are_read_in_name_order(tmp_path):
    (tmp_path / "b").mkdir()
    TABLE.iloc[:2].to_csv(tmp_path / "a.csv", index=False)
    TABLE.iloc[2:].to_csv(tmp_path / "b" / "part.csv", index=False)
    (tmp_path / ".manifest").write_text("ignored hidden file")
    dataset = TableFilesDataset(str(tmp_path))
    pd.testing.assert_frame_equal(dataset.load(), TABLE)
    assert dataset.read_columns() == ["Age", "Home"]


def test_one_parquet_file(tmp_path):
    TABLE.to_parquet(tmp_path / "table.parquet")
    pd.testing.assert_frame_equal(TableFilesDataset(str(tmp_path / "table.parquet")).load(), TABLE)


def test_csv_load_args_apply_to_every_part(tmp_path):
    TABLE.to_csv(tmp_path / "a.csv", index=False, sep=";")
    assert TableFilesDataset(str(tmp_path), load_args={"sep": ";"}).read_columns() == ["Age", "Home"]


@pytest.mark.parametrize(("write", "message"), [
    (lambda folder: None, "No CSV or Parquet file in"),
    (lambda folder: (folder / "notes.json").write_text("{}"), "found only: notes.json"),
    (lambda folder: (TABLE.to_csv(folder / "a.csv", index=False), TABLE.to_parquet(folder / "b.parquet")),
     "mixes CSV and Parquet"),
    (lambda folder: (TABLE.to_csv(folder / "a.csv", index=False),
                     TABLE.drop(columns="Home").to_csv(folder / "b.csv", index=False)), "b.csv does not have the columns"),
    (lambda folder: (folder / "a.csv").write_bytes(b"Age,Home\n30,caf\xe9\n"), "a.csv is not valid utf-8"),
    (lambda folder: (folder / "a.csv").write_text(""), "a.csv is empty"),
])
def test_unreadable_folders_name_the_file(tmp_path, write, message):
    write(tmp_path)
    with pytest.raises(DatasetError) as error:
        TableFilesDataset(str(tmp_path)).load()
    assert message in str(error.value)
