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


def _filepath(entry: dict) -> str:
    """Where a dataset's file is; an MlflowArtifactDataset wraps the dataset that has it."""
    return str(entry.get("filepath") or entry.get("dataset", {}).get("filepath") or "")


def _file_type(entry: dict) -> str:
    """The type of the file dataset; MlflowArtifactDataset and PublishOnCommitDataset wrap it."""
    wrappers = ("MlflowArtifactDataset", "PublishOnCommitDataset")
    return entry["dataset"]["type"] if entry["type"].endswith(wrappers) else entry["type"]


def _persisted(base: dict) -> set[str]:
    """Files a run writes or reads as data.

    Entries without a file (MLflow metrics, the model registry) live in MLflow, whose artifacts
    conf/aws/mlflow.yml sends to the bucket; files under conf/ (the expectation suite) are
    configuration shipped with the code; the MLflow model directory is the registry's working
    copy (its versions are in MLflow's S3 artifact store; the model is the versioned `model`).
    """
    return {
        name for name, entry in base.items()
        if entry.get("type") not in NOT_PERSISTED | {"ml_on_aws.datasets.MlflowModelDirectoryDataset"}
        and _filepath(entry) and not _filepath(entry).startswith("conf/")
    }


def test_every_persisted_base_dataset_has_an_s3_counterpart(catalogs):
    base, aws = catalogs
    persisted = _persisted(base)
    assert {"raw_data", "model", "drift_report", "raw_data_validation"} <= persisted
    missing = sorted(name for name in persisted if not _filepath(aws[name]).startswith("s3://"))
    assert not missing, f"add these conf/base/catalog.yml entries to conf/aws/catalog.yml: {missing}"
    for name in persisted:
        assert _filepath(aws[name]).startswith(f"s3://{BUCKET}/{PREFIX}/"), name
        assert _file_type(aws[name]) == _file_type(base[name]), f"{name}: conf/aws changes the dataset type"


def test_mlflow_artifacts_go_to_the_bucket(monkeypatch):
    monkeypatch.setenv("ML_ON_AWS_BUCKET", BUCKET)
    monkeypatch.setenv("ML_ON_AWS_PREFIX", PREFIX)
    from ml_on_aws import settings as project_settings

    args = dict(project_settings.CONFIG_LOADER_ARGS)
    # kedro-mlflow adds this pattern when its hook runs; a bare loader needs it spelled out.
    args["config_patterns"] = {**args.get("config_patterns", {}), "mlflow": ["mlflow*", "mlflow*/**"]}
    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env="aws", **args)
    location = loader["mlflow"]["tracking"]["experiment"]["create_experiment_kwargs"]["artifact_location"]
    assert location == f"s3://{BUCKET}/{PREFIX}/mlflow"


def test_models_and_reports_are_versioned_on_s3(catalogs):
    base, aws = catalogs
    versioned_in_base = {name for name in _persisted(base) if base[name].get("versioned")}
    layers = ("/06_models/", "/07_model_output/", "/08_reporting/")
    versioned_by_layer = {name for name, entry in aws.items()
                          if name in _persisted(base) and any(layer in _filepath(entry) for layer in layers)}
    for name in versioned_in_base | versioned_by_layer:
        assert aws[name].get("versioned") is True, f"{name} would be overwritten by the next run"
    assert "model" in versioned_by_layer


def test_no_credentials_or_endpoint_are_written_into_the_aws_catalog(catalogs):
    _, aws = catalogs
    text = (PROJECT_ROOT / "conf/aws/catalog.yml").read_text().lower()
    for secret in ("aws_access_key_id", "aws_secret_access_key", "secret", "token", "password"):
        assert secret not in text
    # No endpoint variable set: s3fs talks to AWS itself.
    assert all(entry["fs_args"]["client_kwargs"]["endpoint_url"] is None for entry in aws.values() if "fs_args" in entry)


def test_the_endpoint_override_reaches_every_s3_dataset(monkeypatch):
    monkeypatch.setenv("ML_ON_AWS_BUCKET", BUCKET)
    monkeypatch.setenv("ML_ON_AWS_PREFIX", PREFIX)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    aws = _catalog("aws")
    endpoints = {entry["fs_args"]["client_kwargs"]["endpoint_url"] for entry in aws.values() if "fs_args" in entry}
    assert endpoints == {"http://127.0.0.1:9000"}



def test_every_output_a_run_writes_on_s3_is_versioned(catalogs):
    """Concurrent runs on one prefix never overwrite each other's files: each run writes its
    own versions, loads its own or committed ones (src/ml_on_aws/datasets/runs.py)."""
    from ml_on_aws.pipeline_registry import register_pipelines

    base, aws = catalogs
    outputs = {name for pipeline in register_pipelines().values() for name in pipeline.outputs()}
    written = (outputs | {name for pipeline in register_pipelines().values() for node in pipeline.nodes
                          for name in node.outputs}) & _persisted(base)
    assert {"model", "train_set", "labelled_data", "predictions"} <= written
    unversioned = sorted(name for name in written if aws[name].get("versioned") is not True)
    assert not unversioned, f"runs on one S3 prefix would overwrite these in place: {unversioned}"
    assert aws["run_manifests"]["filepath"] == f"s3://{BUCKET}/{PREFIX}/runs"
