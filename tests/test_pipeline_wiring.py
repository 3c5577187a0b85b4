"""Every registered pipeline, in-process: Kedro's SequentialRunner on an in-memory catalog.

Each bundled environment (one per task) is loaded with the project's own configuration loader;
its raw tables and expectation suite are read with the datasets its catalog declares, and every
other dataset lives in memory. The default pipeline runs once per environment, then each
registered pipeline runs alone on the datasets that run produced: the wiring (which node reads
what), the nodes' real outputs and the configuration of every task, in seconds, without a
subprocess, MLflow or files. ``tests/test_pipeline_runs.py`` keeps a few runs as a user types them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from ml_on_aws.core import payloads
from ml_on_aws.core.data_capture import capture_record
from ml_on_aws.core.mlflow_models import ModelPackage, ModelRelease
from ml_on_aws.core.predictions import predict_frame
from ml_on_aws.pipeline_registry import TRAINING_DRIFT, WITH_TEST_DATA, register_pipelines
from ml_on_aws.settings import CONFIG_LOADER_ARGS
from tests.conftest import PROJECT_ROOT

# Small searches and curves: the wiring is under test here, not the model's quality.
FAST = {
    "training": {"search": {"n_iter": 2, "cv": 2, "n_jobs": 1, "verbose": 0}},
    "evaluation": {"learning_curve_cv": 2, "learning_curve_max_rows": 400, "plot_max_rows": 400},
}
SOURCES = ("raw_data", "new_data", "expectation_suite")
# Training rows kept of each raw table (every suite asks for fewer): seconds per run.
RAW_ROWS = 1200

# Environment -> the task its configuration sets up.
ENVIRONMENTS = {
    "base": "binary classification",
    "penguins_multiclass": "multiclass classification",
    "ames_regression": "regression",
    "credit_clustering": "clustering",
    "seattle_weather_dates": "regression on a date column",
}


class KeptDataset(MemoryDataset):
    """A memory dataset the runner cannot empty: each run's intermediate results stay readable."""

    def _release(self) -> None:
        pass


def _merge(base: dict, overrides: dict) -> dict:
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return merged


def _configuration(env: str) -> tuple[dict, dict]:
    """The environment's parameters (with FAST searches) and catalog, as `kedro run --env` reads them."""
    arguments = {**CONFIG_LOADER_ARGS, "default_run_env": env}
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), env=env, **arguments)
    parameters = loader["parameters"]
    for section, overrides in FAST.items():
        parameters[section] = _merge(parameters[section], overrides)
    return parameters, loader["catalog"]


def _sources(catalog_config: dict) -> dict[str, Any]:
    """raw_data, new_data and the suite, loaded by the datasets the catalog declares for them."""
    config = {name: {**catalog_config[name], "filepath": str(PROJECT_ROOT / catalog_config[name]["filepath"])}
              for name in SOURCES}
    catalog = DataCatalog.from_config(config)
    sources = {name: catalog.load(name) for name in SOURCES}
    return sources | {"raw_data": sources["raw_data"].head(RAW_ROWS)}


def _catalog(values: dict[str, Any], parameters: dict) -> DataCatalog:
    datasets = {name: KeptDataset(data=value, copy_mode="assign") for name, value in values.items()}
    datasets |= {f"params:{key}": MemoryDataset(data=value, copy_mode="assign") for key, value in parameters.items()}
    names = {name for pipeline in register_pipelines().values() for name in pipeline.datasets()}
    datasets |= {name: KeptDataset(copy_mode="assign") for name in names - datasets.keys()}
    return DataCatalog(datasets=datasets)


def _contents(catalog: DataCatalog) -> dict[str, Any]:
    """Every dataset the runs saved or were given (parameters left out)."""
    return {name: catalog.load(name) for name in catalog.keys()
            if not name.startswith("params:") and catalog[name].exists()}


class Project:
    """One environment: its parameters, and what the default pipeline made of its data."""

    def __init__(self, env: str) -> None:
        self.env = env
        self.parameters, catalog_config = _configuration(env)
        self.sources = _sources(catalog_config)
        catalog = _catalog({**self.sources, "champion_model": None}, self.parameters)
        SequentialRunner().run(register_pipelines()["__default__"], catalog)
        self.outputs = _contents(catalog)

    def run(self, name: str, **replaced: Any) -> dict[str, Any]:
        """Registered pipeline ``name`` alone, its inputs taken from the default run (or ``replaced``)."""
        pipeline = register_pipelines()[name]
        given = {input_: replaced.get(input_, self.outputs.get(input_)) for input_ in pipeline.inputs()
                 if not input_.startswith("params:")}
        catalog = _catalog(given, self.parameters)
        SequentialRunner().run(pipeline, catalog)
        return {name: value for name, value in _contents(catalog).items() if name not in given}


@pytest.fixture(scope="module", params=list(ENVIRONMENTS))
def project(request) -> Project:
    return Project(request.param)


@pytest.fixture(scope="module")
def credit() -> Project:
    return Project("base")


def _task(project: Project) -> str:
    return project.parameters["data"]["task"]


def test_the_default_pipeline_writes_every_output_for_each_task(project):
    default = register_pipelines()["__default__"]
    assert default.all_outputs() <= project.outputs.keys()
    report = project.outputs["evaluation_report"]
    assert report["task"] == _task(project)
    assert report["rows"]["train"] == len(project.outputs["train_set"])
    assert report["rows"]["test"] == len(project.outputs["test_set"])
    assert project.outputs["raw_data_validation"]["passed"] is True
    assert project.outputs["new_data_validation"]["passed"] is True
    assert "<html" in project.outputs["raw_data_data_docs"].lower()
    metrics = project.outputs["evaluation_metrics"]
    assert metrics and all(set(value) == {"value", "step"} for value in metrics.values())
    assert isinstance(project.outputs["mlflow_model"], ModelPackage)
    release = project.outputs["registered_model"]
    assert isinstance(release, ModelRelease) and release.promote is True  # no champion yet
    assert project.outputs["release_decision"]["promote"] is True


def test_the_model_predicts_the_new_rows_for_each_task(project):
    model, new = project.outputs["model"], project.sources["new_data"]
    predictions = project.outputs["predictions"]
    assert len(predictions) == len(new)
    assert (pd.Series(model.predict(new)).to_numpy() == predictions["prediction"].to_numpy()).all()
    task, target = _task(project), project.parameters["data"]["target"]
    if task == "classification":
        classes = set(project.sources["raw_data"][target].dropna())
        assert set(predictions["prediction"]) <= classes
        probabilities = predictions[[f"proba_{label}" for label in sorted(map(str, classes))]]
        assert probabilities.sum(axis=1).round(6).eq(1).all()
    elif task == "regression":
        observed = project.sources["raw_data"][target]
        assert predictions["prediction"].between(observed.min() - observed.std(), observed.max() + observed.std()).all()
    else:
        assert predictions["prediction"].nunique() >= 2


def test_the_evaluation_reports_the_task_s_metrics(project):
    report, task = project.outputs["evaluation_report"], _task(project)
    expected = {"classification": {"accuracy", "roc_auc"}, "regression": {"r2", "rmse"},
                "clustering": {"silhouette", "n_clusters"}}[task]
    assert expected <= report["test"].keys()
    assert {"train", "test"} <= report["bias_variance"].keys() or task == "clustering"
    gate = project.parameters["evaluation"]["quality_gate"]["metric"]
    assert project.outputs["model_status"]["metric"] == gate
    assert {"learning_curve", "feature_importance"} <= project.outputs.keys()
    assert len(project.outputs["evaluation_plots"]) >= 2
    assert not project.outputs["cv_results"].empty


def test_each_task_s_own_outputs(project):
    plots, table = set(project.outputs["evaluation_plots"]), project.outputs["cv_results"]
    if project.env == "credit_clustering":
        assert {"sklearn.cluster.KMeans", "sklearn.cluster.DBSCAN"} <= set(table["estimator"])
        report = project.outputs["evaluation_report"]["test"]
        assert sum(report["cluster_sizes"].values()) == len(project.outputs["test_set"])
    elif _task(project) == "regression":
        assert "residuals.png" in plots
    else:
        assert {"roc_curve.png", "confusion_matrix.png"} <= plots
        assert table["mean_test_score"].notna().all()
    if project.env == "seattle_weather_dates":
        # The date is parsed and turned into numbers inside the model: new rows carry only its text.
        names = {name.split("__")[-1] for name in project.outputs["model"][:-1].get_feature_names_out()}
        assert {"date_month", "date_dayofyear"} <= names


# Run by the tests below them with the outputs checked: __default__, the variants, drift, monitoring.
RUN_BELOW = {"__default__", WITH_TEST_DATA, TRAINING_DRIFT, "drift", "inference", "monitoring"}


@pytest.mark.parametrize("name", sorted(set(register_pipelines()) - RUN_BELOW))
def test_each_registered_pipeline_runs_alone_on_what_the_stages_before_it_saved(credit, name):
    raw = credit.sources["raw_data"]
    # A held-out table and the production model's training rows, for the pipelines that read them.
    given = {"test_data": raw.iloc[900:], "production_reference_data": raw.iloc[:900]}
    needed = register_pipelines()[name].inputs()
    outputs = credit.run(name, **{key: table for key, table in given.items() if key in needed})
    assert register_pipelines()[name].outputs() <= outputs.keys()
    for output in register_pipelines()[name].outputs():
        assert outputs[output] is not None, output


def test_drift_reports_every_column_and_signals_retraining_for_a_shifted_batch(credit):
    sample = credit.sources["raw_data"].drop(columns="Status").sample(n=600, random_state=7)
    unchanged = credit.run("drift", new_data=sample)
    assert unchanged["retrain_signal"] == {"retrain": 0, "drifted_columns": [], "checked_columns": 13, "reasons": []}
    assert set(unchanged["drift_report"]["columns"]) == set(sample.columns)

    shifted = sample.assign(Income=sample["Income"] * 1.6)
    shifted.loc[shifted.index[::5], "Job"] = "gig economy"
    drifted = credit.run("drift", new_data=shifted)
    signal, report = drifted["retrain_signal"], drifted["drift_report"]
    assert signal["retrain"] == 1 and sorted(signal["drifted_columns"]) == ["Income", "Job"]
    assert report["columns"]["Job"]["new_categories"] == ["gig economy"]
    assert report["columns"]["Income"]["kl_divergence"] > 0.1
    assert "Retrain signal: <b>1</b>" in drifted["drift_summary"]


def test_monitoring_reads_the_captured_traffic_of_each_task(project):
    """Requests of the new rows, one JSON record each, answered as the server answers (its renderer)."""
    new, model = project.sources["new_data"].head(40), project.outputs["model"]
    moment = datetime(2026, 11, 2, 8, tzinfo=UTC)
    lines = []
    for position in range(len(new)):
        row = new.iloc[[position]]
        record = capture_record(
            request=row.to_json(orient="records").encode(), request_content_type=payloads.JSON,
            response=payloads.render(predict_frame(model, row), payloads.JSON), response_content_type=payloads.JSON,
            inference_time=moment + timedelta(minutes=position), event_id=f"e{position}")
        lines.append(("ep/AllTraffic/2026/11/02/08/a.jsonl", position + 1, json.dumps(record)))
    captured = pd.DataFrame(lines, columns=["file", "line", "text"])
    configured = project.parameters["monitoring"]
    project.parameters["monitoring"] = {**configured, "window": {"end": "2026-11-03T00:00:00Z", "hours": 24}}
    try:
        outputs = project.run("monitoring", captured_data=captured, ground_truth_labels=pd.DataFrame(),
                              model_reference_data=project.outputs["reference_data"], model_lineage=None)
    finally:
        project.parameters["monitoring"] = configured
    report = outputs["monitoring_report"]
    assert (report["records"], report["rows"], report["unparsed_records"], report["unparsed_responses"]) == (len(new),) * 2 + (0, 0)
    assert report["checked_columns"] == len(outputs["live_features"].columns) and report["prediction_shift"] is not None
    assert outputs["live_predictions"]["prediction"].tolist() == predict_frame(model, new)["prediction"].tolist()
    assert "<img " in outputs["monitoring_summary"]


def test_with_test_data_tests_on_the_given_table(credit):
    raw = credit.sources["raw_data"]
    outputs = credit.run(WITH_TEST_DATA, raw_data=raw.iloc[:900], test_data=raw.iloc[900:])
    assert register_pipelines()[WITH_TEST_DATA].outputs() <= outputs.keys()
    assert outputs["evaluation_report"]["rows"] == {"train": 900, "test": int(raw.iloc[900:]["Status"].notna().sum())}
    assert outputs["test_data_validation"]["passed"] is True


def test_training_drift_compares_the_training_table_with_the_production_reference(credit):
    raw = credit.sources["raw_data"]
    production = raw.iloc[900:].assign(Income=lambda table: table["Income"] * 3)
    signal = credit.run(TRAINING_DRIFT, production_reference_data=production)["retrain_signal"]
    assert signal["retrain"] == 1 and "Income" in signal["drifted_columns"]


def test_reference_rows_are_the_training_rows(credit):
    reference, train = credit.outputs["reference_data"], credit.outputs["train_set"]
    assert len(reference) == min(len(train), credit.parameters["drift"]["reference_max_rows"])
    assert list(reference.columns) == list(train.columns)


def test_inference_stops_at_the_gate_on_a_column_of_the_wrong_type(credit):
    bad = credit.sources["new_data"].astype({"Age": str})
    bad.loc[bad.index[:3], "Age"] = "unknown"
    with pytest.raises(Exception, match=r"column 'Age'") as raised:
        credit.run("inference", new_data=bad)
    assert type(raised.value).__name__ == "DataValidationError"


def test_inference_scores_each_new_row_once(credit):
    new = credit.sources["new_data"]
    predictions = credit.run("inference")["predictions"]
    assert len(predictions) == len(new) and "prediction" in predictions.columns
