"""What S3Hooks tells the user when a run fails after saving versions."""

from __future__ import annotations

import logging

from botocore.exceptions import EndpointConnectionError
from kedro.io import DataCatalog, DatasetError, Version
from kedro.pipeline import Pipeline, node
from kedro_datasets.pickle import PickleDataset

from ml_on_aws.aws.hooks import S3Hooks
from ml_on_aws.versions import set_aside_versions

from .conftest import FAKE_CREDENTIALS, s3_client


def _identity(x):
    return x


def _versioned_model(path, save_version=None) -> PickleDataset:
    return PickleDataset(filepath=str(path), version=Version(None, save_version))


def test_a_failed_run_sets_its_versions_aside_and_names_the_s3_cause(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    model_file = tmp_path / "model.pkl"
    _versioned_model(model_file, "2026-01-01T00.00.00.000Z").save("good model")
    failed = "2026-01-02T00.00.00.000Z"
    catalog = DataCatalog({
        "model": _versioned_model(model_file, failed),
        "scratch": PickleDataset(filepath=str(tmp_path / "scratch.pkl")),
    })
    pipeline = Pipeline([node(_identity, "scratch", "model")])
    (tmp_path / "scratch.pkl").write_bytes(b"")  # the input exists, so the checks pass
    hooks = S3Hooks()
    hooks.before_pipeline_run({"run_id": failed}, pipeline, catalog)
    hooks.before_dataset_saved("model", "unevaluated model", None)
    catalog.save("model", "unevaluated model")  # saved, then a later node fails
    hooks.before_dataset_saved("scratch", object(), None)
    try:
        raise DatasetError("Failed while saving data to dataset") from EndpointConnectionError(endpoint_url="http://127.0.0.1:9/b/k")
    except DatasetError as error:
        with caplog.at_level(logging.WARNING):
            hooks.on_pipeline_error(error, {"run_id": failed}, pipeline, catalog)
    text = caplog.text
    assert "The connection to S3 at http://127.0.0.1:9 (from AWS_ENDPOINT_URL) failed" in text
    aside = tmp_path / "model.pkl.failed" / failed / "model.pkl"
    assert f"'model' -> {aside.parent}" in text and "scratch" not in text.split("moved aside")[1]
    assert _versioned_model(model_file).load() == "good model"  # the last good run is the newest again
    assert PickleDataset(filepath=str(aside)).load() == "unevaluated model"  # nothing is lost


def test_versions_on_s3_are_set_aside_too(moto_endpoint, monkeypatch):
    for name, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(name, value)
    s3_client(moto_endpoint).create_bucket(Bucket="aside")
    location = "s3://aside/team/06_models/model.pkl"
    _versioned_model(location, "2026-01-01T00.00.00.000Z").save("good model")
    _versioned_model(location, "2026-01-02T00.00.00.000Z").save("unevaluated model")
    moved, kept = set_aside_versions(DataCatalog({"model": _versioned_model(location, "2026-01-02T00.00.00.000Z")}), ["model"])
    assert moved == ["'model' -> s3://aside/team/06_models/model.pkl.failed/2026-01-02T00.00.00.000Z"] and not kept
    assert _versioned_model(location).load() == "good model"


def test_a_version_that_cannot_be_moved_is_named_as_the_newest(tmp_path, caplog, monkeypatch):
    catalog = DataCatalog({"model": _versioned_model(tmp_path / "model.pkl", "v2")})
    catalog.save("model", "unevaluated model")
    (tmp_path / "model.pkl.failed").write_text("a file where the folder would go")
    hooks = S3Hooks()
    hooks.before_pipeline_run({"run_id": "v2"}, Pipeline([]), catalog)
    hooks.before_dataset_saved("model", object(), None)
    with caplog.at_level(logging.WARNING):
        hooks.on_pipeline_error(ValueError("bug"), {"run_id": "v2"}, Pipeline([]), catalog)
    assert "wrote (or was writing) version v2 of model;" in caplog.text and "could not be moved aside" in caplog.text


def test_a_failure_before_any_versioned_save_says_nothing_about_versions(caplog):
    hooks = S3Hooks()
    hooks.before_pipeline_run({"run_id": "v"}, Pipeline([]), DataCatalog({}))
    with caplog.at_level(logging.WARNING):
        hooks.on_pipeline_error(ValueError("bug"), {"run_id": "v"}, Pipeline([]), DataCatalog({}))
    assert caplog.text == ""
