"""`kedro run` killed with SIGKILL at several points, and two runs at once (src/ml_on_aws/datasets/runs.py).

After each kill before the commit, batch inference and the prediction server give exactly the
last good run's predictions and the champion stays; a run killed after its commit (between its
model folder and the symlink swap) is published by `kedro serve` or the next run; the next
complete run publishes as usual. A stopped or failed run ends its MLflow run KILLED or FAILED. The kills are
made deterministic by ML_ON_AWS_TEST_KILL_AT (a test aid: the process SIGKILLs itself there).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import KEDRO, copy_project, run_kedro, run_kedro_until_killed
from tests.serving.conftest import start_server

pytestmark = pytest.mark.slow

FAST = "training.search.n_iter=2,training.search.cv=2,evaluation.learning_curve_cv=2,evaluation.learning_curve_max_rows=500"
# Another split and estimator setting: a model that predicts differently from the last good one.
OTHER = FAST + ",split.random_state=7,training.estimator.kwargs.random_state=3"
MODEL_NAME = "ml_on_aws_credit_data"
PREDICTIONS = "data/07_model_output/predictions.csv"
MODEL_DIR = "data/06_models/mlflow_model"


def _ok(result) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _champion(project: Path) -> str:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    return str(client.get_model_version_by_alias(MODEL_NAME, "champion").version)


def _last_mlflow_run_status(project: Path) -> str:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    return client.search_runs(experiments, order_by=["attribute.start_time DESC"], max_results=1)[0].info.status


def _served(project: Path, log: Path, kedro_serve: bool = False) -> str:
    """What the prediction server answers for the new data, from the published model directory
    (with ``kedro_serve``: the project's command, which first publishes a committed run)."""
    server = start_server(None if kedro_serve else project / MODEL_DIR, log, kedro_project=project if kedro_serve else None)
    try:
        body = (project / "data/01_raw/credit_data_new.csv").read_bytes()
        response = httpx.post(f"{server.url}/invocations", content=body, headers={"Content-Type": "text/csv"}, timeout=60)
        assert response.status_code == 200, response.text[:500]
        return response.text
    finally:
        server.stop()


@pytest.fixture(scope="module")
def last_good(tmp_path_factory) -> dict:
    """One complete run: what inference and the server give from then on, unless a run commits."""
    project = copy_project(tmp_path_factory.mktemp("commits") / "project")
    _ok(run_kedro(project, "run", "--params", FAST))
    return {"project": project, "predictions": (project / PREDICTIONS).read_bytes(), "champion": _champion(project),
            "served": _served(project, project / "server.log"), "model_folder": os.readlink(project / MODEL_DIR),
            "killed": []}


@pytest.mark.parametrize("kill_at", [
    "after_node:training.train_model",        # the model is saved
    "after_node:evaluation.evaluate_model",     # inside evaluation: the report is saved
    "mlflow_model_written",          # the MLflow model directory is being written (registry step)
    "after_node:registry.decide_release",     # inside the registry step: a version is registered
])
def test_a_killed_run_changes_nothing_that_is_loaded(last_good, kill_at):
    project = last_good["project"]
    killed = run_kedro_until_killed(project, "run", "--params", OTHER, env={"ML_ON_AWS_TEST_KILL_AT": kill_at})
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    last_good["killed"].append(kill_at)

    _ok(run_kedro(project, "run", "--pipelines", "inference"))
    assert (project / PREDICTIONS).read_bytes() == last_good["predictions"]
    assert _served(project, project / f"server-{kill_at.replace(':', '-')}.log") == last_good["served"]
    assert _champion(project) == last_good["champion"]
    assert os.readlink(project / MODEL_DIR) == last_good["model_folder"]


def test_a_run_killed_between_its_model_folder_and_the_symlink_swap_is_published_by_kedro_serve(last_good):
    """Killed after its commit, with the new model folder in place and its symlink made but not yet
    swapped in: the old model stays served by the folder until `kedro serve` (or the next run)
    rolls the run forward; then the server and batch inference give the committed run's model."""
    project = last_good["project"]
    killed = run_kedro_until_killed(project, "run", "--params", OTHER, env={"ML_ON_AWS_TEST_KILL_AT": "folder_link_made"})
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    (committed,) = [path.stem for path in (project / "data/runs/started").glob("*.json")
                    if (project / "data/runs/committed" / path.name).exists()]
    assert os.readlink(project / MODEL_DIR) == last_good["model_folder"]
    assert (project / "data/06_models" / f".mlflow_model.{committed}.link").is_symlink()

    served = _served(project, project / "kedro-serve.log", kedro_serve=True)
    assert os.readlink(project / MODEL_DIR) == f".mlflow_model.{committed}"
    assert "Published" in (project / "kedro-serve.log").read_text()
    assert served != last_good["served"]
    assert _served(project, project / "server-rolled-forward.log") == served
    _ok(run_kedro(project, "run", "--pipelines", "inference"))
    assert (project / PREDICTIONS).read_bytes() != last_good["predictions"]
    last_good["rolled_forward"] = {"served": served, "predictions": (project / PREDICTIONS).read_bytes()}
    last_good["rolled_forward_version"] = committed


def test_a_second_run_stops_while_one_runs_and_the_next_complete_run_publishes(last_good):
    """Two runs at once in one project: the second stops at once, naming the lock and the first
    run's process; the first commits as usual, with the model that the killed runs never published."""
    project = last_good["project"]
    listed = run_kedro(project, "runs", "list")
    _ok(listed)
    assert listed.stdout.count("failed, killed or stopped") == len(last_good["killed"]) == 4

    killed_runs = set((project / "data/runs/started").glob("*.json"))
    first = subprocess.Popen([KEDRO, "run", "--params", OTHER], cwd=project, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not set((project / "data/runs/started").glob("*.json")) - killed_runs and time.monotonic() < deadline:
            assert first.poll() is None, first.stdout.read()[-3000:]
            time.sleep(0.5)
        second = run_kedro(project, "run", "--pipelines", "inference")
        output = second.stdout + second.stderr
        assert second.returncode != 0
        assert f"holds the lock {project / 'data/runs/.lock'}" in " ".join(output.split())
        assert f"pid {first.pid} on" in output and "Traceback" not in output
        output_first, _ = first.communicate(timeout=900)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, output_first[-3000:]

    # the same parameters as the run rolled forward above: the same model
    assert (project / PREDICTIONS).read_bytes() == last_good["rolled_forward"]["predictions"]
    assert _served(project, project / "server-next.log") == last_good["rolled_forward"]["served"]
    assert int(_champion(project)) > int(last_good["champion"]) or "keep the champion" in output_first

    cleaned = run_kedro(project, "runs", "clean")
    _ok(cleaned)
    assert "Removed" in cleaned.stdout and "06_models/model/" in cleaned.stdout
    listed = run_kedro(project, "runs", "list")
    assert "Not committed: none" in listed.stdout
    assert len(list((project / "data/06_models/model").iterdir())) == 3  # the committed runs' models
    current = os.readlink(project / MODEL_DIR)
    assert sorted(p.name for p in (project / "data/06_models").iterdir()) == sorted(
        [current, f".mlflow_model.{last_good['rolled_forward_version']}", "mlflow_model", "model"])


def test_sigterm_ends_a_run_with_one_line_and_publishes_nothing(last_good):
    project = last_good["project"]
    before = (project / PREDICTIONS).read_bytes(), sorted((project / "data/runs/committed").iterdir())
    log = project / "sigterm.log"
    with log.open("w") as out:
        run = subprocess.Popen([KEDRO, "run", "--params", OTHER], cwd=project, stdout=out, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, env={**os.environ, "COLUMNS": "200"})
        try:
            deadline = time.monotonic() + 300
            while not list((project / "data/runs/started").glob("*.json")):
                assert run.poll() is None and time.monotonic() < deadline
                time.sleep(0.5)
            time.sleep(5)  # inside a node
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)  # joblib's workers, if any outlived it
    output = log.read_text()
    assert run.returncode != 0
    assert "stopped by SIGTERM: nothing of it was published" in " ".join(output.split())
    assert "Traceback" not in output
    assert ((project / PREDICTIONS).read_bytes(), sorted((project / "data/runs/committed").iterdir())) == before
    assert _last_mlflow_run_status(project) == "KILLED"


def test_a_failed_run_ends_its_mlflow_run_as_failed(last_good):
    """The model's MLmodel files are broken for one run: its load fails inside the pipeline."""
    project = last_good["project"]
    mlmodels = {path: path.read_bytes() for path in (project / "data/06_models/model").glob("*/model/MLmodel")}
    try:
        for path in mlmodels:
            path.write_text("flavors: [not, a, mapping\n")
        failed = run_kedro(project, "run", "--pipelines", "inference")
    finally:
        for path, content in mlmodels.items():
            path.write_bytes(content)
    assert failed.returncode != 0
    assert "model" in failed.stdout + failed.stderr
    assert _last_mlflow_run_status(project) == "FAILED"
