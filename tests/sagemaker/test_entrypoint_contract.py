"""The container's contract with SageMaker, without Docker: an /opt/ml-shaped folder written the
way SageMaker writes it, the entry point run as a subprocess, and what it leaves behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from ml_on_aws.container.contract import METRIC_REGEX
from tests.conftest import PROJECT_ROOT, copy_project

RAW = PROJECT_ROOT / "data" / "01_raw"
# Small and quick: two folds, two candidates, a 1,200-row table.
HYPERPARAMETERS = {
    # As the SageMaker Python SDK sends them: every value JSON-encoded, then a string.
    "training.search.n_iter": "2",
    "training.search.cv": "2",
    "training.search.scoring": json.dumps("roc_auc"),
    "evaluation.quality_gate.min_test_score": "0.6",
    "sagemaker_region": json.dumps("eu-west-1"),
}


def run_entrypoint(opt_ml: Path, *args: str, project: Path = PROJECT_ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    # As `--local` runs: no CloudWatch metrics unless a test asks for them (ML_ON_AWS_PUBLISH_METRICS).
    env = {"ML_ON_AWS_PUBLISH_METRICS": "false", **os.environ,
           "ML_ON_AWS_OPT_ML": str(opt_ml), "ML_ON_AWS_PROJECT_DIR": str(project)}
    env.pop("KEDRO_LOGGING_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "ml_on_aws.container", *args], env=env, cwd=opt_ml.parent,
                          capture_output=True, text=True, timeout=timeout)


def training_folder(root: Path, hyperparameters: dict[str, str] | None = None, channels: dict[str, list[pd.DataFrame]] | None = None) -> Path:
    """/opt/ml as SageMaker lays it out for a training job."""
    opt_ml = root / "opt_ml"
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True)
    (opt_ml / "model").mkdir()
    (opt_ml / "output" / "data").mkdir(parents=True)
    if channels is None:
        table = pd.read_csv(RAW / "credit_data.csv").head(1200)
        channels = {"train": [table.iloc[:700], table.iloc[700:]]}
    (config / "hyperparameters.json").write_text(json.dumps(HYPERPARAMETERS if hyperparameters is None else hyperparameters))
    (config / "inputdataconfig.json").write_text(json.dumps({
        name: {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
               "RecordWrapperType": "None"} for name in channels
    }))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "current_instance_type": "ml.m5.large", "hosts": ["algo-1"],
         "network_interface_name": "eth0"}))
    for name, parts in channels.items():
        folder = opt_ml / "input" / "data" / name
        folder.mkdir(parents=True)
        for number, part in enumerate(parts):
            part.to_csv(folder / f"part-{number:04d}.csv", index=False)
    return opt_ml


def failure(opt_ml: Path, file: str = "failure") -> str:
    path = opt_ml / "output" / file
    assert path.is_file(), f"no {path}"
    return path.read_text()


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project") / "project")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, project_copy) -> tuple[Path, subprocess.CompletedProcess]:
    opt_ml = training_folder(tmp_path_factory.mktemp("train"))
    return opt_ml, run_entrypoint(opt_ml, "train", project=project_copy)


@pytest.mark.slow  # a whole training job in a subprocess
def test_training_writes_the_served_model_and_the_reports(trained, project_copy):
    opt_ml, result = trained
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not (opt_ml / "output" / "failure").exists()
    # Intermediate datasets and the MLflow store went to a scratch folder, not the project.
    written = [p for p in project_copy.rglob("*") if p.is_file() and "01_raw" not in p.parts
               and p.parent.name != "local" and "conf" not in p.parts and p.name not in ("pyproject.toml", ".telemetry")]
    assert written == []
    from ml_on_aws.container.serving import load_model

    model = load_model(opt_ml / "model")
    assert (opt_ml / "model" / "MLmodel").is_file()
    assert not [p.name for p in (opt_ml / "model").iterdir() if p.name.startswith(".")]  # no copy left aside
    rows = pd.read_csv(RAW / "credit_data_new.csv").head(5)
    assert len(model.predict(rows.drop(columns=["Status"], errors="ignore"))) == 5
    output = opt_ml / "output" / "data"
    report = json.loads((output / "evaluation_report.json").read_text())
    assert report["test"]["roc_auc"] > 0.6
    assert (output / "reference_data.parquet").is_file()
    # Next to the model (in model.tar.gz) too, for monitoring jobs; MLflow still reads the model.
    from ml_on_aws.core.mlflow_models import load_sklearn_model

    for name in ("reference_data.parquet", "test_predictions.parquet"):
        assert (opt_ml / "model" / name).read_bytes() == (output / name).read_bytes()
    assert len(load_sklearn_model(opt_ml / "model").predict(rows.drop(columns=["Status"], errors="ignore"))) == 5
    # What a monitoring job compares live predictions with: every test row's prediction and label.
    test_predictions = pd.read_parquet(output / "test_predictions.parquet")
    assert len(test_predictions) == report["rows"]["test"] and {"prediction", "Status"} <= set(test_predictions.columns)
    assert (output / "validation" / "raw_data_validation.json").is_file()
    # The hyperparameters reached the search: 2 candidates, 2 folds.
    cv_results = pd.read_csv(output / "cv_results.csv")
    assert len(cv_results) == 2
    assert "split1_test_score" in cv_results.columns and "split2_test_score" not in cv_results.columns
    # Both channel files were read: 1,200 rows, a fifth of them in the test split.
    assert report["rows"]["test"] + report["rows"]["train"] == 1200


def test_the_model_is_copied_aside_then_renamed_into_opt_ml_model_whole(tmp_path):
    """Through the symlink a run publishes, over an old model and a copy a killed job left aside."""
    from ml_on_aws.container.contract import publish_model

    folder = tmp_path / "data" / ".mlflow_model.v2"
    (folder / "code").mkdir(parents=True)
    for name, text in (("MLmodel", "new"), ("model.skops", "new weights"), ("code/m.py", "x = 1")):
        (folder / name).write_text(text)
    (tmp_path / "data" / "mlflow_model").symlink_to(folder.name)
    target = tmp_path / "opt_ml" / "model"
    (target / ".incoming-1").mkdir(parents=True)
    (target / ".incoming-1" / "MLmodel").write_text("half of a copy")
    for name in ("MLmodel", "old.skops"):
        (target / name).write_text("old")
    publish_model(tmp_path / "data" / "mlflow_model", target)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == ["MLmodel", "code", "code/m.py", "model.skops"]
    assert (target / "MLmodel").read_text() == "new" and not (target / "MLmodel").is_symlink()


@pytest.mark.slow  # a whole training job in a subprocess
def test_training_prints_metric_lines_for_the_documented_regexes(trained):
    opt_ml, result = trained
    saved = json.loads((opt_ml / "output" / "data" / "metrics.json").read_text())
    for name in ("test_roc_auc", "train_roc_auc", "test_accuracy", "cv_best_mean_test_score"):
        match = re.search(METRIC_REGEX.format(name=name), result.stdout)
        assert match, f"no metric line for {name}"
        assert float(match.group(1)) == pytest.approx(saved[name], rel=1e-6)


@pytest.mark.slow  # a whole training job in a subprocess
def test_a_successful_job_logs_no_error(trained):
    # CloudWatch shows everything the job prints: a finished job leaves no traceback behind
    # (e.g. MLflow ending its run at exit, after the job's scratch store was removed).
    _, result = trained
    output = result.stdout + result.stderr
    assert result.returncode == 0
    assert "Traceback" not in output and " ERROR " not in output, output[-3000:]


@pytest.mark.slow  # a whole training job in a subprocess
def test_processing_scores_new_data_with_the_training_artifact(trained, tmp_path):
    trained_opt_ml, _ = trained
    opt_ml = tmp_path / "opt_ml"
    model_input = opt_ml / "processing" / "input" / "model"
    new_data = opt_ml / "processing" / "input" / "new_data"
    model_input.mkdir(parents=True)
    new_data.mkdir(parents=True)
    with tarfile.open(model_input / "model.tar.gz", "w:gz") as tar:  # as SageMaker stores it in S3
        for item in (trained_opt_ml / "model").iterdir():
            tar.add(item, arcname=item.name)
    pd.read_csv(RAW / "credit_data_new.csv").head(50).to_csv(new_data / "batch.csv", index=False)
    (opt_ml / "config").mkdir()
    (opt_ml / "config" / "processingjobconfig.json").write_text(json.dumps({
        "ProcessingJobName": "score-batch",
        "ProcessingInputs": [
            {"InputName": "model", "S3Input": {"LocalPath": "/opt/ml/processing/input/model"}},
            {"InputName": "new_data", "S3Input": {"LocalPath": "/opt/ml/processing/input/new_data"}},
        ],
    }))
    # The second of two instances: its outputs carry its name, so they do not overwrite the first's.
    (opt_ml / "config" / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    result = run_entrypoint(opt_ml, "process", "inference")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    predictions = pd.read_csv(opt_ml / "processing" / "output" / "predictions" / "predictions-algo-2.csv")
    assert len(predictions) == 50
    assert "prediction" in predictions.columns
    assert (opt_ml / "processing" / "output" / "validation" / "new_data_validation-algo-2.json").is_file()


@pytest.mark.slow  # a whole training job in a subprocess
def test_a_monitoring_job_reads_the_capture_with_the_training_job_s_outputs(trained, tmp_path):
    """`process monitoring` as conf/aws/sagemaker.yml configures it and the stack's schedule starts
    it (the window as runtime parameters): capture files written from the trained model's own
    answers and the training job's model.tar.gz, which carries the reference rows, the test
    predictions and the lineage record (the model version of the report)."""
    from starlette.testclient import TestClient

    from ml_on_aws.container.serving.app import create_app
    from ml_on_aws.container.serving.settings import ServerSettings

    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    import make_capture_sample as sample

    trained_opt_ml, _ = trained
    opt_ml, inputs = tmp_path / "opt_ml", tmp_path / "opt_ml" / "processing" / "input"
    for name in ("model", "captured_data"):
        (inputs / name).mkdir(parents=True)
    with tarfile.open(inputs / "model" / "model.tar.gz", "w:gz") as tar:
        for item in (trained_opt_ml / "model").iterdir():
            tar.add(item, arcname=item.name)
    rows = pd.read_csv(RAW / "credit_data_new.csv").head(60)
    with TestClient(create_app(ServerSettings(model_dir=str(trained_opt_ml / "model")))) as client:
        files = sample.capture(client, sample.mixed_requests(rows))
    sample.write_capture_files(files, inputs / "captured_data")

    result = run_entrypoint(opt_ml, "process", "monitoring", "--params",
                            f"monitoring.window.end={sample.SAMPLE_WINDOW_END},monitoring.window.hours=24")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = opt_ml / "processing" / "output" / "monitoring"
    report = json.loads((output / "monitoring_report.json").read_text())
    assert (report["records"], report["rows"], report["unparsed_records"]) == (len(sample.mixed_requests(rows)), 60, 0)
    assert report["live_metrics"] == {} and report["quality"]["note"] == "no ground-truth labels"
    assert report["window"]["end"] == "2026-11-03T00:00:00+00:00"
    assert (report["model_version"], report["model_version_from"]) == ("ml_on_aws_train/1", "lineage record")
    assert "<img " in (output / "monitoring_summary.html").read_text()


def test_missing_train_channel_fails_with_a_reason(tmp_path):
    opt_ml = training_folder(tmp_path, channels={})
    result = run_entrypoint(opt_ml, "train")
    assert result.returncode == 1
    reason = failure(opt_ml)
    assert "'train' channel is missing" in reason and str(opt_ml / "input" / "data" / "train") in reason
    assert not (opt_ml / "model" / "MLmodel").exists()


@pytest.mark.parametrize(("hyperparameters", "expected"), [
    ({"training.search.n_iter": "many"}, "'training.search.n_iter' = 'many' is not a valid int"),
    ({"split.test_size": "1.5"}, "split.test_size"),
])
def test_bad_hyperparameter_fails_naming_it(tmp_path, hyperparameters, expected):
    table = pd.read_csv(RAW / "credit_data.csv").head(300)
    opt_ml = training_folder(tmp_path, hyperparameters=hyperparameters, channels={"train": [table]})
    result = run_entrypoint(opt_ml, "train")
    assert result.returncode == 1
    assert expected in failure(opt_ml)


def test_table_without_the_target_fails_naming_column_and_file(tmp_path):
    table = pd.read_csv(RAW / "credit_data.csv").head(300).drop(columns=["Status"])
    opt_ml = training_folder(tmp_path, channels={"train": [table]})
    result = run_entrypoint(opt_ml, "train")
    assert result.returncode == 1
    reason = failure(opt_ml)
    assert "Status" in reason and "input/data/train" in reason


def test_parts_with_different_columns_fail_naming_the_file(tmp_path):
    table = pd.read_csv(RAW / "credit_data.csv").head(300)
    opt_ml = training_folder(tmp_path, channels={"train": [table.iloc[:150], table.iloc[150:].drop(columns=["Age"])]})
    result = run_entrypoint(opt_ml, "train")
    assert result.returncode == 1
    reason = failure(opt_ml)
    assert "part-0001.csv" in reason and "Age" in reason


def test_processing_without_its_input_fails_naming_the_folder(tmp_path):
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "processing" / "input" / "new_data").mkdir(parents=True)
    result = run_entrypoint(opt_ml, "process", "inference")
    assert result.returncode == 1
    message = failure(opt_ml, "message")
    assert "'model'" in message and str(opt_ml / "processing" / "input" / "model") in message


def test_an_instance_without_a_shard_exits_0_with_empty_outputs(tmp_path):
    # ShardedByS3Key over more instances than objects: SageMaker gives this instance no file.
    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "processing" / "input" / "new_data").mkdir(parents=True)
    (opt_ml / "config").mkdir()
    (opt_ml / "config" / "processingjobconfig.json").write_text(json.dumps({
        "ProcessingJobName": "ml-on-aws-process-x",
        "ProcessingInputs": [{"InputName": "new_data", "S3Input": {
            "LocalPath": "/opt/ml/processing/input/new_data", "S3DataDistributionType": "ShardedByS3Key"}}],
    }))
    (opt_ml / "config" / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-3", "hosts": ["algo-1", "algo-2", "algo-3"]}))
    result = run_entrypoint(opt_ml, "process", "inference")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "algo-3 got no objects of sharded input(s) new_data" in result.stdout + result.stderr
    assert not (opt_ml / "processing" / "output").exists() or not any((opt_ml / "processing" / "output").rglob("*.*"))


def test_processing_an_unknown_pipeline_lists_the_pipelines(tmp_path):
    opt_ml = tmp_path / "opt_ml"
    opt_ml.mkdir()
    result = run_entrypoint(opt_ml, "process", "inferense")
    assert result.returncode == 1
    message = failure(opt_ml, "message")
    assert "no pipeline named 'inferense'" in message and "inference" in message
