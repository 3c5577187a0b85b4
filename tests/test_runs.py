"""Run commits in process: manifests, which versions loads resolve to, publishing, the lock, signals."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog, Version
from kedro.pipeline import Pipeline
from kedro_datasets.json import JSONDataset

from ml_on_aws.datasets import PublishOnCommitDataset, RunManifestsDataset, runs

V1, V2, V3 = "2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z", "2026-01-03T00.00.00.000Z"


def _model(path: Path | str, save_version: str | None = None) -> JSONDataset:
    """A versioned dataset standing for the model (the commit treats every versioned dataset alike)."""
    return JSONDataset(filepath=str(path), version=Version(None, save_version))


def _catalog(tmp_path: Path, save_version: str, **extra) -> DataCatalog:
    catalog = DataCatalog({"model": _model(tmp_path / "model.json", save_version),
                           "run_manifests": RunManifestsDataset(filepath=str(tmp_path / "runs")), **extra})
    runs.RunCommitHooks().after_catalog_created(catalog, save_version)
    return catalog


def _run(hooks: runs.RunCommitHooks, catalog: DataCatalog, version: str, tmp_path: Path) -> dict:
    params = {"run_id": version, "project_path": str(tmp_path), "env": None, "pipeline_names": None}
    hooks.before_pipeline_run(params, Pipeline([]), catalog)
    return params


@pytest.fixture(autouse=True)
def _no_run_left():
    yield
    runs._finish()


def test_a_run_that_does_not_complete_is_never_loaded(tmp_path):
    hooks = runs.RunCommitHooks()
    first = _catalog(tmp_path, V1)
    params = _run(hooks, first, V1, tmp_path)
    first.save("model", "good model")
    hooks.after_dataset_saved("model")
    hooks.after_pipeline_run(params)

    second = _catalog(tmp_path, V2)
    params = _run(hooks, second, V2, tmp_path)
    second.save("model", "unevaluated model")
    assert second.load("model") == "unevaluated model"  # the run itself reads what it saved
    hooks.on_pipeline_error()  # or killed: nothing happens at all

    assert _catalog(tmp_path, V3).load("model") == "good model"
    assert _catalog(tmp_path, V3).load("model", version=V2) == "unevaluated model"  # kept for diagnosis
    manifest = json.loads((tmp_path / "runs/committed" / f"{V1}.json").read_text())
    assert manifest["saved"] == {"model": f"@{V1}"} and manifest["published"] is True
    assert sorted(p.name for p in (tmp_path / "runs/committed").iterdir()) == [f"{V1}.json"]


def test_a_run_that_fails_before_saving_anything_leaves_no_record(tmp_path, caplog):
    hooks = runs.RunCommitHooks()
    catalog = _catalog(tmp_path, V1)
    _run(hooks, catalog, V1, tmp_path)
    store = runs.store_of(catalog)
    assert store.started_versions() == [V1]
    hooks.on_pipeline_error()  # e.g. the check node of raw_data refused it
    assert store.started_versions() == [] and "failed before it saved anything" in caplog.text

    second = _catalog(tmp_path, V2)
    _run(hooks, second, V2, tmp_path)
    second.save("model", "unevaluated model")
    hooks.after_dataset_saved("model")
    hooks.on_pipeline_error()
    assert store.started_versions() == [V2]  # what it saved is kept for diagnosis, and listed


def test_versions_saved_before_manifests_existed_are_taken_as_committed(tmp_path):
    _model(tmp_path / "model.json", V1).save("model of an older project")
    catalog = _catalog(tmp_path, V2)
    assert catalog.load("model") == "model of an older project"  # no store yet: nothing hidden
    _run(runs.RunCommitHooks(), catalog, V2, tmp_path)
    assert (tmp_path / "runs/committed" / f"{V1}.json").is_file()
    assert json.loads((tmp_path / "runs/format.json").read_text())["adopted"] == [V1]


def test_outputs_read_in_place_are_published_by_the_commit_only(tmp_path):
    target = tmp_path / "out" / "predictions.csv"
    predictions = PublishOnCommitDataset({"type": "pandas.CSVDataset", "filepath": str(target)})
    predictions.save(pd.DataFrame({"p": [0]}))  # outside a run: in place at once
    assert pd.read_csv(target)["p"].tolist() == [0]

    hooks = runs.RunCommitHooks()
    catalog = _catalog(tmp_path, V2, predictions=predictions)
    params = _run(hooks, catalog, V2, tmp_path)
    catalog.save("predictions", pd.DataFrame({"p": [1]}))
    assert catalog.load("predictions")["p"].tolist() == [1]
    assert pd.read_csv(target)["p"].tolist() == [0]  # not yet published
    staged = target.with_name(f".predictions.csv.{V2}.staged")
    assert staged.is_file()
    hooks.after_pipeline_run(params)
    assert pd.read_csv(target)["p"].tolist() == [1] and not staged.exists()
    assert [p.name for p in target.parent.iterdir()] == ["predictions.csv"]


def _folder(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "MLmodel").write_text(text)
    return path


def test_a_folder_is_published_by_swapping_a_symlink_in_one_rename(tmp_path):
    target = tmp_path / "mlflow_model"
    for version in (V1, V2, V3):
        staged = _folder(tmp_path / f".mlflow_model.{version}.staged", version)
        runs.perform({"kind": "link", "source": str(staged), "target": str(target)})
        assert target.is_symlink() and os.readlink(target) == f".mlflow_model.{version}"
        assert (target / "MLmodel").read_text() == version
    # the current folder and the previous one (a reader may still be loading it) are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".mlflow_model.{V2}", f".mlflow_model.{V3}", "mlflow_model"]


def test_a_folder_publish_killed_at_any_step_leaves_a_whole_model_and_rolls_forward(tmp_path):
    target = tmp_path / "mlflow_model"
    runs.perform({"kind": "link", "source": str(_folder(tmp_path / f".mlflow_model.{V1}.staged", "old")),
                  "target": str(target)})
    staged = _folder(tmp_path / f".mlflow_model.{V2}.staged", "new")
    action = {"kind": "link", "source": str(staged), "target": str(target)}
    # killed after the staged folder got its published name, before the symlink was swapped
    os.replace(staged, tmp_path / f".mlflow_model.{V2}")
    assert (target / "MLmodel").read_text() == "old"
    # killed after the new symlink was made, before it replaced the old one
    os.symlink(f".mlflow_model.{V2}", tmp_path / f".mlflow_model.{V2}.link")
    assert (target / "MLmodel").read_text() == "old"
    assert runs.perform(action) == str(target)  # the roll-forward
    assert (target / "MLmodel").read_text() == "new"
    assert runs.perform(action) == str(target)  # and again: nothing changes
    assert (target / "MLmodel").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".mlflow_model.{V1}", f".mlflow_model.{V2}", "mlflow_model"]


def test_a_real_folder_from_before_links_is_replaced_by_the_first_publish(tmp_path):
    target = _folder(tmp_path / "mlflow_model", "old")
    leftover = _folder(tmp_path / f".mlflow_model.{V1}.previous", "older")  # of the set-aside-then-rename mechanism
    staged = _folder(tmp_path / f".mlflow_model.{V2}.staged", "new")
    runs.perform({"kind": "move", "source": str(staged), "target": str(target)})  # as older manifests name it
    assert (target / "MLmodel").read_text() == "new" and not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".mlflow_model.{V2}", ".mlflow_model.before-links", "mlflow_model"]


def test_a_run_killed_between_its_commit_and_publishing_is_published_by_the_next(tmp_path):
    store = runs.RunStore(str(tmp_path / "runs"))
    store.initialize([])
    staged, target = tmp_path / ".p.csv.x.staged", tmp_path / "p.csv"
    staged.write_text("new")
    store.write("started", V1, {"run": V1})
    store.write("committed", V1, {"run": V1, "publish": [{"kind": "move", "source": str(staged), "target": str(target)}],
                                  "published": False})
    assert runs.roll_forward(store) == [str(target)]
    assert target.read_text() == "new" and store.started_versions() == []
    assert store.read("committed", V1)["published"] is True


def test_a_second_local_run_stops_naming_the_lock_and_its_holder(tmp_path):
    hooks = runs.RunCommitHooks()
    _run(hooks, _catalog(tmp_path, V1), V1, tmp_path)
    other = runs.ProjectLock(tmp_path / "runs" / ".lock")  # another open file: as another process
    with pytest.raises(runs.RunCommitError) as error:
        other.acquire({"run": V2})
    message = error.value.message
    assert str(tmp_path / "runs" / ".lock") in message and f"run {V1}, pid {os.getpid()}" in message
    hooks.on_pipeline_error()
    other.acquire({"run": V2})  # released when the run ended
    other.release()


def test_uncommitted_runs_are_listed_and_cleaned(tmp_path):
    hooks = runs.RunCommitHooks()
    for version, complete in ((V1, True), (V2, False)):
        catalog = _catalog(tmp_path, version)
        params = _run(hooks, catalog, version, tmp_path)
        catalog.save("model", version)
        hooks.after_pipeline_run(params) if complete else runs._finish()
    catalog = _catalog(tmp_path, V3)
    found = runs.survey(catalog)
    assert found.committed == [V1] and list(found.uncommitted) == [V2] and list(found.started) == [V2]
    text = "\n".join(runs.describe(found))
    assert f"{V1}  (current)" in text and f"{V2}  failed, killed or stopped; pid {os.getpid()}" in text
    assert f"{tmp_path / 'model.json'}/{V2}" in text
    removed, kept = runs.clean(catalog, older_than_minutes=None, dry_run=False)
    assert f"{tmp_path / 'model.json'}/{V2}" in removed and not kept
    assert [p.name for p in (tmp_path / "model.json").iterdir()] == [V1]
    assert runs.survey(catalog).uncommitted == {} and runs.survey(catalog).started == {}


def test_clean_keeps_recent_runs_when_asked_to(tmp_path):
    catalog = _catalog(tmp_path, V1)
    _run(runs.RunCommitHooks(), catalog, "2999-01-01T00.00.00.000Z", tmp_path)  # a run started just now
    runs._finish()
    removed, kept = runs.clean(catalog, older_than_minutes=60, dry_run=False)
    assert removed == [] and "may still be running" in kept[0]


@pytest.mark.parametrize(("signum", "default"), [(signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)])
def test_a_signal_stops_the_run_with_one_line_and_gives_the_handler_back(tmp_path, caplog, monkeypatch, request, signum, default):
    import mlflow

    # Start from the interpreter's own handler, whatever an earlier test in this process left.
    previous = signal.signal(signum, default)
    request.addfinalizer(lambda: signal.signal(signum, previous))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    tracked = mlflow.start_run()  # as kedro-mlflow opens one for the run
    hooks = runs.RunCommitHooks()
    _run(hooks, _catalog(tmp_path, V1), V1, tmp_path)
    with caplog.at_level(logging.WARNING, logger="ml_on_aws.datasets.runs"), pytest.raises(KeyboardInterrupt, match=f"stopped by {signum.name}"):
        os.kill(os.getpid(), signum)
        time.sleep(1)
    assert f"Run {V1} stopped by {signum.name}: nothing of it was published" in caplog.text
    assert signal.getsignal(signum) is default
    assert runs.active_run() is None
    assert mlflow.active_run() is None
    assert mlflow.MlflowClient().get_run(tracked.info.run_id).info.status == "KILLED"


def test_a_signal_handler_someone_else_installed_is_left_alone(tmp_path):
    def theirs(signum, frame):
        raise KeyboardInterrupt("theirs")

    previous = signal.signal(signal.SIGTERM, theirs)
    try:
        _run(runs.RunCommitHooks(), _catalog(tmp_path, V1), V1, tmp_path)
        assert signal.getsignal(signal.SIGTERM) is theirs
        runs._finish()
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_alias_moves_only_if_no_other_run_moved_it_since(tmp_path, monkeypatch, caplog):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", source=str(tmp_path))
    assert runs.perform({"kind": "alias", "model_name": "m", "alias": "champion", "version": "1", "expected": None}) \
        == "m@champion -> version 1"
    assert runs.perform({"kind": "alias", "model_name": "m", "alias": "champion", "version": "2", "expected": "1"}) \
        == "m@champion -> version 2"
    with caplog.at_level(logging.WARNING):
        outcome = runs.perform({"kind": "alias", "model_name": "m", "alias": "champion", "version": "3", "expected": "1"})
    assert outcome == "m@champion left at version 2" and "moved to version 2 while this run compared against 1" in caplog.text
    assert str(client.get_model_version_by_alias("m", "champion").version) == "2"


def test_versions_on_s3_are_committed_by_a_manifest_object(moto_endpoint, monkeypatch):
    from tests.aws.conftest import FAKE_CREDENTIALS, list_keys, s3_client

    for name, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(name, value)
    s3_client(moto_endpoint).create_bucket(Bucket="commits")
    root = "s3://commits/team"

    def catalog(version):
        built = DataCatalog({"model": _model(f"{root}/06_models/model.json", version),
                             "run_manifests": RunManifestsDataset(filepath=f"{root}/runs")})
        runs.RunCommitHooks().after_catalog_created(built, version)
        return built

    hooks = runs.RunCommitHooks()
    for version, complete in ((V1, True), (V2, False)):
        first = catalog(version)
        params = _run(hooks, first, version, Path.cwd())
        first.save("model", version)
        hooks.after_pipeline_run(params) if complete else runs._finish()
    assert catalog(V3).load("model") == V1
    keys = list_keys(moto_endpoint, "commits")
    assert f"team/runs/committed/{V1}.json" in keys and f"team/runs/committed/{V2}.json" not in keys
    assert f"team/06_models/model.json/{V2}/model.json" in keys
    assert not (Path(f"{root}/runs/.lock")).exists()  # no lock on S3
