"""datasets/internals.py is the one reader of Kedro datasets' private attributes, and it
understands a file-based dataset by its behaviour (path, file system, file content), not its class."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import MemoryDataset, Version
from kedro_datasets.pandas import CSVDataset, GenericDataset, ParquetDataset

from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.core.decoding import MARK_UNDECODABLE
from ml_on_aws.datasets import internals
from ml_on_aws.hooks.config_checks import read_columns, read_header

SRC = Path(__file__).parents[2] / "src" / "ml_on_aws"
PRIVATE = re.compile(
    r"(?<!self)\.(_filepath|_protocol|_fs|_version|_load_args|_save_args|_get_load_path|_get_save_path"
    r"|_get_versioned_path|_glob_function|_describe|_fs_open_args_load)\b"
    r"|getattr\([^,]+, \"_(filepath|protocol|fs|version|load_args)\""
    r"|__name__ *[!=]= *\"\w+Dataset\"|\"\w+Dataset\" *[!=]= *type"
)


def test_only_the_adapter_reads_private_dataset_attributes() -> None:
    found = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py")) if path.name != "internals.py"
        for number, line in enumerate(path.read_text().splitlines(), 1) if PRIVATE.search(line)
    ]
    assert not found, "read these through ml_on_aws.datasets.internals:\n" + "\n".join(found)


def test_the_grep_catches_a_private_read() -> None:
    assert PRIVATE.search("path = dataset._filepath") and PRIVATE.search('getattr(ds, "_protocol", None)')
    assert PRIVATE.search('if type(dataset).__name__ == "CSVDataset":')
    assert not PRIVATE.search("self._filepath = Path(filepath)")


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"age": [30, 41], "home": ["rent", "own"]})


def test_a_table_of_any_file_based_class_gives_its_columns(tmp_path: Path, table) -> None:
    table.to_csv(tmp_path / "t.csv", index=False, sep=";")
    table.to_parquet(tmp_path / "t.parquet")
    datasets = [
        CSVDataset(filepath=str(tmp_path / "t.csv"), load_args={"sep": ";"}),
        GenericDataset(filepath=str(tmp_path / "t.csv"), file_format="csv", load_args={"sep": ";"}),
        ParquetDataset(filepath=str(tmp_path / "t.parquet")),
        GenericDataset(filepath=str(tmp_path / "t.parquet"), file_format="parquet"),
    ]
    for dataset in datasets:
        assert read_columns(dataset, "raw") == ["age", "home"], dataset
        assert internals.location(dataset) == str(dataset._describe()["filepath"])


def test_a_file_that_is_no_table_gives_no_columns(tmp_path: Path, table) -> None:
    table.to_json(tmp_path / "t.json")
    assert read_columns(GenericDataset(filepath=str(tmp_path / "t.json"), file_format="json")) is None


def test_a_missing_file_is_named_with_its_own_dataset(tmp_path: Path) -> None:
    dataset = CSVDataset(filepath=str(tmp_path / "absent.csv"))
    with pytest.raises(ConfigurationError, match=r"^Dataset 'new_data' has no file at .*absent\.csv"):
        read_header(dataset, "new_data")


def test_a_text_table_of_any_class_loads_with_undecodable_bytes_marked(tmp_path: Path, table) -> None:
    """The load argument the header check adds reaches pandas, for any text dataset and none other."""
    (tmp_path / "t.csv").write_bytes(b"age,home\n30,rent\n41,caf\xe9\n")
    table.to_parquet(tmp_path / "t.parquet")
    for dataset in (CSVDataset(filepath=str(tmp_path / "t.csv")),
                    GenericDataset(filepath=str(tmp_path / "t.csv"), file_format="csv")):
        assert read_header(dataset, "raw_data") == ["age", "home"]
        assert internals.load_args(dataset)["encoding_errors"] == MARK_UNDECODABLE
        assert dataset.load()["home"].tolist() == ["rent", "caf\ufdd0"]
    parquet = ParquetDataset(filepath=str(tmp_path / "t.parquet"))
    assert read_header(parquet, "raw_data") == ["age", "home"] and "encoding_errors" not in internals.load_args(parquet)
    parquet.load()


def test_an_encoding_errors_setting_of_the_catalog_entry_is_kept(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b"age,home\n30,rent\n41,caf\xe9\n")
    dataset = CSVDataset(filepath=str(tmp_path / "t.csv"), load_args={"encoding_errors": "replace"})
    read_header(dataset, "raw_data")
    assert dataset.load()["home"].tolist() == ["rent", "caf\ufffd"]


def test_location_version_and_remote_of_versioned_and_s3_datasets(tmp_path: Path, table) -> None:
    versioned = CSVDataset(filepath=str(tmp_path / "v.csv"), version=Version(None, "2026-01-01T00.00.00.000Z"))
    versioned.save(table)
    assert internals.load_version(versioned) == "2026-01-01T00.00.00.000Z"
    assert internals.load_path(versioned).endswith("v.csv/2026-01-01T00.00.00.000Z/v.csv")
    assert internals.load_version(CSVDataset(filepath=str(tmp_path / "u.csv"))) == "unversioned"
    remote = CSVDataset(filepath="s3://bucket/key/t.csv")
    assert internals.is_remote(remote) and not internals.is_remote(versioned)
    assert internals.location(remote) == "s3://bucket/key/t.csv" and internals.filepath(remote) == "bucket/key/t.csv"


def test_a_location_carries_its_protocol_unless_it_is_local(tmp_path):
    assert internals.location(CSVDataset(filepath=str(tmp_path / "a.csv"))) == str(tmp_path / "a.csv")
    assert internals.location(ParquetDataset(filepath="s3://bucket/prefix/t.parquet")) == "s3://bucket/prefix/t.parquet"
    assert internals.location(MemoryDataset()) == ""
