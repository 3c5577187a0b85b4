"""What identifies the data a dataset loads, from its storage's description: S3 version id or ETag
and last-modified (moto's server), local size, modification time and SHA-256."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import MemoryDataset
from kedro_datasets.pandas import CSVDataset

from ml_on_aws.datasets import TableFilesDataset
from ml_on_aws.datasets.identity import data_identity

from ..aws.conftest import FAKE_CREDENTIALS, s3_client

TABLE = b"income,age\n51.5,33\n48.0,61\n"


def test_a_local_file_is_identified_by_size_time_and_content(tmp_path: Path):
    path = tmp_path / "table.csv"
    path.write_bytes(TABLE)
    identity = data_identity(CSVDataset(filepath=str(path)))
    assert identity == {"location": str(path), "size": len(TABLE),
                        "modified": datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat(),
                        "sha256": hashlib.sha256(TABLE).hexdigest()}
    path.write_bytes(TABLE.replace(b"33", b"34"))
    assert data_identity(CSVDataset(filepath=str(path)))["sha256"] != identity["sha256"]


def test_a_folder_lists_its_files_without_the_hidden_ones(tmp_path: Path):
    channel = tmp_path / "train"
    (channel / "more").mkdir(parents=True)
    (channel / "part-0.csv").write_bytes(TABLE)
    (channel / "more" / "part-1.csv").write_bytes(TABLE + b"50.0,40\n")
    (channel / ".part-2.csv.tmp").write_bytes(b"a copy being made")
    identity = data_identity(TableFilesDataset(path=str(channel)))
    assert identity["location"] == str(channel) and identity["file_count"] == 2
    assert [(Path(item["location"]).name, item["sha256"]) for item in identity["files"]] == [
        ("part-1.csv", hashlib.sha256(TABLE + b"50.0,40\n").hexdigest()), ("part-0.csv", hashlib.sha256(TABLE).hexdigest())]


def test_a_dataset_without_a_file_has_no_identity():
    assert data_identity(MemoryDataset(pd.DataFrame({"a": [1]}))) is None


def _s3_dataset(endpoint: str, bucket: str, key: str) -> CSVDataset:
    credentials = {"key": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], "secret": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                   "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
    return CSVDataset(filepath=f"s3://{bucket}/{key}", credentials=credentials)


@pytest.mark.parametrize("versioned", [True, False])
def test_an_s3_object_is_identified_by_version_id_or_etag_and_last_modified(moto_endpoint, versioned):
    s3 = s3_client(moto_endpoint)
    bucket = f"identity-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="raw/table.csv", Body=b"first upload\n")
    latest = s3.put_object(Bucket=bucket, Key="raw/table.csv", Body=TABLE)
    head = s3.head_object(Bucket=bucket, Key="raw/table.csv")

    identity = data_identity(_s3_dataset(moto_endpoint, bucket, "raw/table.csv"))

    assert identity == {
        "location": f"s3://{bucket}/raw/table.csv", "size": len(TABLE),
        "version_id": latest["VersionId"] if versioned else None,
        "etag": latest["ETag"].strip('"'),
        "last_modified": head["LastModified"].astimezone(UTC).isoformat(),
    }
    assert "sha256" not in identity  # nothing is downloaded


def test_an_s3_folder_lists_its_objects_from_one_listing(moto_endpoint):
    s3 = s3_client(moto_endpoint)
    bucket = f"identity-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    put = {key: s3.put_object(Bucket=bucket, Key=f"captured/{key}", Body=key.encode())
           for key in ("ep/AllTraffic/2026/12/07/01/a.jsonl", "ep/AllTraffic/2026/12/07/02/b.jsonl")}
    identity = data_identity(_s3_dataset(moto_endpoint, bucket, "captured"))
    assert identity["location"] == f"s3://{bucket}/captured" and identity["file_count"] == 2
    assert [(item["location"], item["etag"], item["size"]) for item in identity["files"]] == [
        (f"s3://{bucket}/captured/{key}", result["ETag"].strip('"'), len(key)) for key, result in put.items()]
