"""conf/aws/catalog.yml keeps every persisted dataset of conf/base/catalog.yml on S3."""

from __future__ import annotations

import pytest
from kedro.config import OmegaConfigLoader

from tests.conftest import PROJECT_ROOT

BUCKET, PREFIX = "example-bucket", "team/project"
# Datasets kept in memory are not persisted, so they need no S3 counterpart.
NOT_PERSISTED = {"MemoryDataset", "kedro.io.MemoryDataset", "io.MemoryDataset"}


def _catalog(env: str) -> dict:
    from ml_on_aws import settings as project_settings

    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env=env, **project_settings.CONFIG_LOADER_ARGS)
    return loader["catalog"]


@pytest.fixture
def catalogs(monkeypatch):
    monkeypatch.setenv("ML_ON_AWS_BUCKET", BUCKET)
    monkeypatch.setenv("ML_ON_AWS_PREFIX", PREFIX)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    base = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="base")
    return base["catalog"], _catalog("aws")


def test_every_persisted_base_dataset_has_an_s3_counterpart(catalogs):
    base, aws = catalogs
    persisted = {name for name, entry in base.items() if entry.get("type") not in NOT_PERSISTED}
    assert persisted, "conf/base/catalog.yml has no persisted datasets?"
    missing = sorted(name for name in persisted if not str(aws[name].get("filepath", "")).startswith("s3://"))
    assert not missing, f"add these conf/base/catalog.yml entries to conf/aws/catalog.yml: {missing}"
    for name in persisted:
        assert aws[name]["filepath"].startswith(f"s3://{BUCKET}/{PREFIX}/"), name
        assert aws[name]["type"] == base[name]["type"], f"{name}: conf/aws changes the dataset type"


def test_models_and_reports_are_versioned_on_s3(catalogs):
    base, aws = catalogs
    versioned_in_base = {name for name, entry in base.items() if entry.get("versioned")}
    layers = ("/06_models/", "/07_model_output/", "/08_reporting/")
    versioned_by_layer = {name for name, entry in aws.items() if any(layer in entry.get("filepath", "") for layer in layers)}
    for name in versioned_in_base | versioned_by_layer:
        assert aws[name].get("versioned") is True, f"{name} would be overwritten by the next run"
    assert "model" in versioned_by_layer


def test_no_credentials_or_endpoint_are_written_into_the_aws_catalog(catalogs):
    _, aws = catalogs
    text = (PROJECT_ROOT / "conf/aws/catalog.yml").read_text().lower()
    for secret in ("aws_access_key_id", "aws_secret_access_key", "secret", "token", "password"):
        assert secret not in text
    # No endpoint variable set: s3fs talks to AWS itself.
    assert all(entry["fs_args"]["client_kwargs"]["endpoint_url"] is None for entry in aws.values())


def test_the_endpoint_override_reaches_every_s3_dataset(monkeypatch):
    monkeypatch.setenv("ML_ON_AWS_BUCKET", BUCKET)
    monkeypatch.setenv("ML_ON_AWS_PREFIX", PREFIX)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    aws = _catalog("aws")
    assert {entry["fs_args"]["client_kwargs"]["endpoint_url"] for entry in aws.values()} == {"http://127.0.0.1:9000"}

