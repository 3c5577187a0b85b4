"""The endpoint's capture files as one table of lines, from a local folder and from S3 (moto's server)."""

from __future__ import annotations

import boto3
import pandas as pd
import pytest
from kedro.io.core import DatasetError

from ml_on_aws.datasets import CaptureFilesDataset, OptionalTableDataset
from ml_on_aws.datasets.internals import filepath

HOURS = {"ml-on-aws/AllTraffic/2026/11/02/09/10-00-000-b.jsonl": '{"b": 1}\n\n{"b": 2}\n',
         "ml-on-aws/AllTraffic/2026/11/02/08/59-00-000-a.jsonl": '{"a": 1}\n'}


def write(folder, files=HOURS):
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)


def test_every_jsonl_file_under_the_folder_in_name_order_without_blank_lines(tmp_path):
    write(tmp_path)
    (tmp_path / "notes.txt").write_text("not a capture file")
    (tmp_path / ".hidden.jsonl").write_text('{"hidden": 1}\n')
    dataset = CaptureFilesDataset(str(tmp_path))
    table = dataset.load()
    assert table.to_dict(orient="records") == [
        {"file": "ml-on-aws/AllTraffic/2026/11/02/08/59-00-000-a.jsonl", "line": 1, "text": '{"a": 1}'},
        {"file": "ml-on-aws/AllTraffic/2026/11/02/09/10-00-000-b.jsonl", "line": 1, "text": '{"b": 1}'},
        {"file": "ml-on-aws/AllTraffic/2026/11/02/09/10-00-000-b.jsonl", "line": 3, "text": '{"b": 2}'},
    ]
    assert dataset.exists() and filepath(dataset) == str(tmp_path)


@pytest.mark.parametrize("make", [lambda folder: None, lambda folder: folder.mkdir()], ids=["missing", "empty"])
def test_a_missing_or_empty_folder_is_an_error_naming_it(tmp_path, make):
    folder = tmp_path / "captured"
    make(folder)
    dataset = CaptureFilesDataset(str(folder))
    assert not dataset.exists()
    with pytest.raises(DatasetError, match=rf"No capture files \(\*\.jsonl\) under {folder}\. .*data capture"):
        dataset.load()


def test_read_only(tmp_path):
    with pytest.raises(DatasetError, match="read-only"):
        CaptureFilesDataset(str(tmp_path)).save(pd.DataFrame())


def test_capture_files_on_s3(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="capture-files")
    for relative, text in HOURS.items():
        s3.put_object(Bucket="capture-files", Key=f"team/01_raw/captured/{relative}", Body=text.encode())
    dataset = CaptureFilesDataset("s3://capture-files/team/01_raw/captured")
    assert dataset.load()["file"].tolist() == sorted(HOURS) + [sorted(HOURS)[1]]
    with pytest.raises(DatasetError, match="under s3://capture-files/team/elsewhere"):
        CaptureFilesDataset("s3://capture-files/team/elsewhere").load()


def test_an_optional_table_is_empty_when_absent_and_read_when_present(tmp_path):
    config = {"type": "pandas.CSVDataset", "filepath": str(tmp_path / "labels.csv")}
    dataset = OptionalTableDataset(config)
    assert dataset.exists() and dataset.load().empty
    # Not a file input of the run: the checks before a run do not ask for it.
    assert filepath(dataset) is None
    pd.DataFrame({"inference_id": ["a"], "Status": ["good"]}).to_csv(tmp_path / "labels.csv", index=False)
    assert dataset.load().to_dict(orient="records") == [{"inference_id": "a", "Status": "good"}]
