"""Two `kedro run`s in a fresh project: the run is tracked, the model registered, and a worse
second model leaves the champion where it was (nothing deleted)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ...conftest import run_kedro

FAST = "training.search.n_iter=2,training.search.cv=2,evaluation.learning_curve_cv=2,evaluation.learning_curve_max_rows=500"
WEAK = "training.search.kind=none,training.estimator.kwargs.max_iter=1,training.estimator.kwargs.learning_rate=0.01"
MODEL_NAME = "ml_on_aws_credit_data"


def _client(project):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")


@pytest.mark.slow
def test_second_worse_run_keeps_the_champion(project):
    first = run_kedro(project, "run", "--params", FAST)
    assert first.returncode == 0, first.stderr[-3000:]
    client = _client(project)
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"

    # What the first run recorded: params, data identity, tags, metrics, artifacts.
    run = client.search_runs([client.get_experiment_by_name("ml_on_aws").experiment_id])[0]
    assert run.data.params["training.search.n_iter"] == "2"
    assert run.data.params["dataset.raw_data.rows"] == "4000"
    assert len(run.data.params["dataset.raw_data.sha256"]) == 64
    inputs = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
    raw = inputs["raw_data"]
    assert json.loads(raw.profile)["num_rows"] == 4000 and raw.digest == run.data.params["dataset.raw_data.sha256"][:32]
    columns = {c["name"]: c["type"] for c in json.loads(raw.schema)["mlflow_colspec"]}
    assert columns["Status"] == "string" and columns["Income"] in ("double", "long") and len(columns) == 14
    assert run.data.tags["kedro_env"] == "local" and "git_commit" in run.data.tags
    assert 0.5 < run.data.metrics["evaluation_metrics.test.roc_auc"] <= 1.0
    reports = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    assert {"reports/evaluation_report.json", "reports/cv_results.csv", "reports/release_decision.json"} <= reports
    assert client.list_artifacts(run.info.run_id, "plots")
    assert (project / "mlartifacts").is_dir() and not (project / "mlruns").exists()

    second = run_kedro(project, "run", "--params", WEAK)
    assert second.returncode == 0, second.stderr[-3000:]
    decision = json.loads((project / "data" / "08_reporting" / "release_decision.json").read_text())
    assert decision["promote"] is False, decision
    assert str(decision["champion_version"]) == "1" and decision["champion_score"] > decision["candidate_score"]
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"
    versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]  # the weaker model is kept, not deleted
    assert client.get_model_version(MODEL_NAME, "2").tags["promote"] == "False"

    # The folder the container serves is a loadable MLflow model of the latest run.
    from ml_on_aws.container.serving import load_model

    model = load_model(project / "data" / "06_models" / "mlflow_model")
    assert hasattr(model, "predict_proba")
    with sqlite3.connect(project / "mlflow.db") as db:
        assert db.execute("select count(*) from runs").fetchone()[0] == 2
