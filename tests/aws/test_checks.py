"""Checks before a run and explanations after a failure, without a server."""

from __future__ import annotations

import pandas as pd
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset

from ml_on_aws.hooks.s3_checks import check_inputs_exist, explain_failure, s3_location


def test_missing_local_inputs_are_all_named_and_parameters_ignored(tmp_path):
    present = tmp_path / "present.csv"
    pd.DataFrame({"a": [1]}).to_csv(present, index=False)
    catalog = DataCatalog({
        "present": CSVDataset(filepath=str(present)),
        "absent": CSVDataset(filepath=str(tmp_path / "absent.csv")),
        "also_absent": ParquetDataset(filepath=str(tmp_path / "x.parquet")),
        "in_memory": MemoryDataset(),
    })
    with pytest.raises(FileNotFoundError) as error:
        check_inputs_exist(catalog, ["present", "absent", "also_absent", "in_memory", "params:data", "parameters"])
    message = str(error.value)
    assert f"'absent': no file at {tmp_path / 'absent.csv'}" in message
    assert "'also_absent'" in message and "'present'" not in message and "in_memory" not in message
    check_inputs_exist(catalog, ["present", "params:data"])


def test_s3_location_splits_bucket_and_key():
    dataset = CSVDataset(filepath="s3://bucket-a/team/x/01_raw/data.csv")
    assert s3_location(dataset).uri == "s3://bucket-a/team/x/01_raw/data.csv"
    assert s3_location(dataset).key == "team/x/01_raw/data.csv"
    assert s3_location(CSVDataset(filepath="data/01_raw/data.csv")) is None


def test_a_connection_failure_deep_in_a_dataset_error_is_explained(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    try:
        try:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket/key")
        except EndpointConnectionError as low:
            raise DatasetError("Failed while saving data to dataset PickleDataset(...)") from low
    except DatasetError as exc:
        explained = explain_failure(exc)
    assert "The connection to S3 at http://127.0.0.1:9 (from AWS_ENDPOINT_URL) failed" in explained


def test_a_refused_request_names_the_s3_error_code():
    client_error = ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce your request rate"}}, "PutObject")
    translated = OSError("Reduce your request rate")  # what s3fs raises, with the ClientError as cause
    translated.__cause__ = client_error
    assert "refused a request during the run (SlowDown)" in explain_failure(translated)


def test_other_failures_are_left_alone():
    assert explain_failure(ValueError("a bug in a node")) is None
