"""The default pipeline run as a user runs it (`kedro run`): classification and regression on the
whole bundled data, misconfigurations refused with a message, the notebook and kedro-viz.

Every registered pipeline and every task also runs in-process, in seconds: test_pipeline_wiring.py."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ml_on_aws.core.mlflow_models import load_sklearn_model
from tests.conftest import PROJECT_ROOT, copy_project, run_kedro

pytestmark = pytest.mark.slow

FAST_SEARCH = "training.search.n_iter=3,training.search.cv=3"


def _latest(path: Path) -> Path:
    """The newest version inside a Kedro versioned dataset folder."""
    return sorted(p for p in path.iterdir() if p.is_dir())[-1] / path.name


def _report(project: Path) -> dict:
    return json.loads(_latest(project / "data/08_reporting/evaluation_report.json").read_text())


def _check(result) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def credit_project(tmp_path_factory) -> Path:
    """The default configuration, run once for the tests that read its outputs."""
    project = copy_project(tmp_path_factory.mktemp("credit") / "project")
    _check(run_kedro(project, "run", "--params", FAST_SEARCH))
    return project


def test_classification_end_to_end(credit_project):
    project = credit_project
    report = _report(project)
    # The credit data is hard: published models reach ROC AUC 0.80-0.87.
    assert 0.75 < report["test"]["roc_auc"] < 0.95
    assert 0.7 < report["test"]["accuracy"] < 0.95
    assert report["bias_variance"]["train"] >= report["bias_variance"]["test"] - 0.02
    status = json.loads((project / "data/08_reporting/model_status.json").read_text())
    assert status["accepted"] is True
    plots = {p.name for p in (project / "data/08_reporting/plots").iterdir()}
    assert {"roc_curve.png", "confusion_matrix.png", "learning_curve.png", "feature_importance.png"} <= plots
    assert (project / "data/08_reporting/cv_results.csv").stat().st_size > 0

    new = pd.read_csv(project / "data/01_raw/credit_data_new.csv")
    predictions = pd.read_csv(project / "data/07_model_output/predictions.csv")
    assert len(predictions) == len(new)
    assert set(predictions["prediction"]) <= {"good", "bad"}
    assert predictions[["proba_bad", "proba_good"]].sum(axis=1).round(6).eq(1).all()

    model = load_sklearn_model(_latest(project / "data/06_models/model"))
    assert (model.predict(new) == predictions["prediction"]).all()


def test_regression_by_environment(project):
    _check(run_kedro(project, "run", "--env", "ames_regression", "--params", FAST_SEARCH))
    report = _report(project)
    assert report["task"] == "regression"
    assert 0.8 < report["test"]["r2"] < 0.99
    assert 10_000 < report["test"]["rmse"] < 50_000  # dollars, on prices around 180,000
    assert (project / "data/08_reporting/plots/residuals.png").exists()
    predictions = pd.read_csv(project / "data/07_model_output/predictions.csv")
    assert predictions["prediction"].between(10_000, 1_000_000).all()


@pytest.mark.parametrize(
    ("params", "local_override", "expected"),
    [
        ("data.target=Outcome", None, ["'Outcome'", "conf/base/parameters.yml", "credit_data.csv"]),
        (None, "data:\n  numeric_features: [Age, Salary]\n",
         ["['Salary']", "data.numeric_features", "conf/local/parameters.yml"]),
        ("data.task=regression", None, ["regression", "'Status'", "data.task"]),
        ("training.search.kind=bayesian", None, ["training.search.kind", "conf/base/parameters.yml"]),
        # Checked before the first node too (issue 16): a scorer or gate metric the task cannot compute,
        # clustering without candidates.
        ("training.search.scoring=r2", None, ["training.search.scoring", "conf/base/parameters.yml"]),
        ("evaluation.quality_gate.metric=rmse", None, ["evaluation.quality_gate.metric", "'rmse'"]),
        (None, "data:\n  task: clustering\n  target: null\n  positive_label: null\n",
         ["training.clustering", "conf/credit_clustering/parameters.yml"]),
    ],
)
def test_misconfiguration_stops_before_any_work(project, params, local_override, expected):
    if local_override:
        (project / "conf/local/parameters.yml").write_text(local_override)
    result = run_kedro(project, "run", *(["--params", params] if params else []))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ConfigurationError" in output
    assert "Traceback" not in output  # a message, not a traceback (issue 16)
    for text in expected:
        assert text in output.replace("\n", " ").replace("  ", " "), (text, output[-2000:])
    # The settings a target decides stop the run at its first node: nothing is written but the run
    # store's lock and format marker, not even a record of the run.
    bookkeeping = {"data/runs/.lock", "data/runs/format.json"}
    written = [p for p in (project / "data").rglob("*") if p.is_file() and "01_raw" not in p.parts
               and p.name != ".gitkeep" and p.relative_to(project).as_posix() not in bookkeeping]
    assert written == []


def test_exploration_notebook_runs(credit_project):
    """The notebook loads the catalog through Kedro and shows the data and the evaluation plots."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "exploration.ipynb", as_version=4)
    (credit_project / "notebooks").mkdir(exist_ok=True)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(credit_project / "notebooks")}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # ROC, confusion matrix, learning curve, feature importance
    text = "".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "") for o in outputs)
    assert "4,000 rows" in text and "roc_auc" in text


def test_kedro_viz_builds_offline(project):
    result = run_kedro(project, "viz", "build", timeout=300)
    _check(result)
    build = project / "build"
    assert (build / "index.html").exists()
    main = json.loads((build / "api" / "main").read_text())
    names = {n["name"] for n in main["nodes"]}
    assert {"train_model", "evaluate_model", "score_new_data"} <= {n.replace(" ", "_").lower() for n in names}
    stages = {"data_validation", "feature_engineering", "training", "evaluation", "registry", "inference"}
    assert stages <= set(main["modular_pipelines"])  # each stage a group to open
