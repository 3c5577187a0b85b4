"""What S3Hooks tells the user when a run fails after saving versions."""

from __future__ import annotations

import logging

from botocore.exceptions import EndpointConnectionError
from kedro.io import DataCatalog, DatasetError, Version
from kedro.pipeline import Pipeline, node
from kedro_datasets.pickle import PickleDataset

from ml_on_aws.aws.hooks import S3Hooks


def _identity(x):
    return x


def test_a_failed_run_names_the_versions_it_left_and_the_s3_cause(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    catalog = DataCatalog({
        "model": PickleDataset(filepath=str(tmp_path / "model.pkl"), version=Version(None, "2026-01-01T00.00.00.000Z")),
        "scratch": PickleDataset(filepath=str(tmp_path / "scratch.pkl")),
    })
    pipeline = Pipeline([node(_identity, "scratch", "model")])
    (tmp_path / "scratch.pkl").write_bytes(b"")  # the input exists, so the checks pass
    hooks = S3Hooks()
    hooks.before_pipeline_run({"run_id": "2026-01-01T00.00.00.000Z"}, pipeline, catalog)
    hooks.before_dataset_saved("model", object(), None)
    hooks.before_dataset_saved("scratch", object(), None)
    try:
        raise DatasetError("Failed while saving data to dataset") from EndpointConnectionError(endpoint_url="http://127.0.0.1:9/b/k")
    except DatasetError as error:
        with caplog.at_level(logging.WARNING):
            hooks.on_pipeline_error(error, {"run_id": "2026-01-01T00.00.00.000Z"}, pipeline, catalog)
    text = caplog.text
    assert "The connection to S3 at http://127.0.0.1:9 (from AWS_ENDPOINT_URL) failed" in text
    assert "wrote (or was writing) version 2026-01-01T00.00.00.000Z of model;" in text  # not 'scratch': unversioned


def test_a_failure_before_any_versioned_save_says_nothing_about_versions(caplog):
    hooks = S3Hooks()
    hooks.before_pipeline_run({"run_id": "v"}, Pipeline([]), DataCatalog({}))
    with caplog.at_level(logging.WARNING):
        hooks.on_pipeline_error(ValueError("bug"), {"run_id": "v"}, Pipeline([]), DataCatalog({}))
    assert caplog.text == ""
