"""What S3Hooks tells the user when a run fails on S3 (what it saved is not committed: tests/test_runs.py)."""

from __future__ import annotations

import logging

from botocore.exceptions import EndpointConnectionError
from kedro.io import DatasetError

from ml_on_aws.hooks.s3 import S3Hooks


def test_a_failed_run_names_the_s3_cause(caplog, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    try:
        raise DatasetError("Failed while saving data to dataset") from EndpointConnectionError(endpoint_url="http://127.0.0.1:9/b/k")
    except DatasetError as error:
        with caplog.at_level(logging.WARNING):
            S3Hooks().on_pipeline_error(error)
    assert "The connection to S3 at http://127.0.0.1:9 (from AWS_ENDPOINT_URL) failed" in caplog.text
    assert "Earlier versions are untouched" in caplog.text


def test_a_failure_that_is_not_about_s3_says_nothing(caplog):
    with caplog.at_level(logging.WARNING):
        S3Hooks().on_pipeline_error(ValueError("bug"))
    assert caplog.text == ""
