"""The AWS endpoint and credentials as the project names them, and the libraries resolving the override."""

from __future__ import annotations

import boto3
import pytest

from ml_on_aws.aws import session


@pytest.fixture(autouse=True)
def _clean_endpoint_variables(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")


def _s3fs_endpoint() -> str:
    import s3fs
    from fsspec.asyn import sync

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    return sync(fs.loop, fs.set_session)._endpoint.host


def test_no_override_means_the_aws_endpoint_of_the_region():
    assert session.endpoint_variable("s3") is None
    assert boto3.client("s3").meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"
    assert "eu-west-1" in session.describe_endpoint("s3")


def test_boto3_and_s3fs_resolve_the_override_themselves(monkeypatch):
    """Why no client and no catalog entry is given an endpoint_url by the project."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")
    assert boto3.client("s3").meta.endpoint_url == "http://127.0.0.1:9000"
    assert boto3.client("sagemaker").meta.endpoint_url == "http://127.0.0.1:4566"
    assert _s3fs_endpoint() == "http://127.0.0.1:9000"
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    assert _s3fs_endpoint() == "http://127.0.0.1:4566"


def test_the_service_specific_variable_is_named_in_messages(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")
    assert session.describe_endpoint("s3") == "http://127.0.0.1:9000 (from AWS_ENDPOINT_URL_S3)"
    assert session.describe_endpoint("sagemaker") == "http://127.0.0.1:4566 (from AWS_ENDPOINT_URL)"


def test_overrides_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert session.endpoint_variable("s3") is None
    assert boto3.client("s3").meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(("mode", "attempts", "expected"), [("legacy", None, 5), ("standard", None, 3), ("standard", "7", 7)])
def test_retry_attempts_follow_botocore_configuration(monkeypatch, mode, attempts, expected):
    monkeypatch.setenv("AWS_RETRY_MODE", mode)
    if attempts:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", attempts)
    else:
        monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    assert session.retry_attempts(boto3.client("s3")) == expected


def test_credentials_source_names_the_chain_link_not_the_secret():
    described = session.credentials_source()
    assert described.startswith("env") and "MPLE" in described
    assert "example" not in described.replace("EXAMPLE", "")
