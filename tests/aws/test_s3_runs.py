"""`kedro run --env aws` end to end over HTTP against moto's S3 server, and its failure modes."""

from __future__ import annotations

import io
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd
import pytest

from ml_on_aws.aws.cloudwatch import load_config
from ml_on_aws.core.mlflow_models import load_sklearn_model
from tests.aws.conftest import (
    FAKE_CREDENTIALS,
    EndpointThatDiesAfter,
    aws_environment,
    closed_port_endpoint,
    list_keys,
    moto_enforces_credentials,
    s3_client,
)
from tests.conftest import PROJECT_ROOT, copy_project, run_kedro, run_kedro_until_killed

pytestmark = pytest.mark.slow

BUCKET, PREFIX = "ml-on-aws-test", "team/credit"
FAST = "training.search.n_iter=2,training.search.cv=2,evaluation.learning_curve_cv=2"
# The second run trains on another split, so its model differs from the first run's.
SECOND_RUN = FAST + ",split.random_state=7"
# Every output is versioned: concurrent runs on one prefix never overwrite each other's files.
VERSIONED = ("06_models/model", "07_model_output/predictions.csv", "08_reporting/cv_results.csv",
             "08_reporting/evaluation_report.json", "08_reporting/model_status.json",
             "08_reporting/learning_curve.csv", "08_reporting/feature_importance.csv",
             "02_intermediate/labelled_data.parquet", "04_feature/feature_pipeline.skops",
             "05_model_input/train_set.parquet", "05_model_input/test_set.parquet")
PLAIN = ("01_raw/credit_data.csv", "01_raw/credit_data_new.csv")
PLOTS = {"roc_curve.png", "confusion_matrix.png", "learning_curve.png", "feature_importance.png"}


def _ok(result) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _failed_with(result, *texts: str) -> str:
    output = re.sub(r"\s+", " ", result.stdout + result.stderr)
    assert result.returncode != 0, output[-2000:]
    for text in texts:
        assert text in output, (text, output[-3000:])
    return output


def _versions(keys: list[str], path: str, prefix: str = PREFIX) -> list[str]:
    """The versions of a versioned file (``<path>/<version>/<name>``) or folder (``.../<name>/...``)."""
    name = path.rsplit("/", 1)[-1]
    pattern = re.compile(rf"^{re.escape(prefix)}/{re.escape(path)}/([^/]+)/{re.escape(name)}(?:/.+)?$")
    return sorted({m.group(1) for key in keys if (m := pattern.match(key))})


def _read(endpoint: str, key: str) -> bytes:
    return s3_client(endpoint).get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _model(endpoint: str, version: str, prefix: str = PREFIX):
    """The model of one version, read from its MLflow model folder on S3 as the project reads it."""
    folder = f"{prefix}/06_models/model/{version}/model/"
    with tempfile.TemporaryDirectory() as local:
        for key in list_keys(endpoint, BUCKET, folder):
            file = Path(local) / key.removeprefix(folder)
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(_read(endpoint, key))
        return load_sklearn_model(local)


@pytest.fixture(scope="module")
def runs(moto_endpoint, tmp_path_factory):
    """Bucket created, raw data uploaded by `kedro data upload`, then two full runs on S3."""
    project = copy_project(tmp_path_factory.mktemp("s3") / "project")
    env = aws_environment(moto_endpoint, BUCKET, PREFIX, project.parent)
    s3_client(moto_endpoint).create_bucket(Bucket=BUCKET)
    upload = run_kedro(project, "data", "upload", env=env)
    _ok(upload)
    _ok(run_kedro(project, "run", "--env", "aws", "--params", FAST, env=env))
    after_first = list_keys(moto_endpoint, BUCKET)
    _ok(run_kedro(project, "run", "--env", "aws", "--params", SECOND_RUN, env=env))
    return {"project": project, "env": env, "upload": upload, "after_first": after_first,
            "after_second": list_keys(moto_endpoint, BUCKET)}


def test_upload_copies_the_bundled_raw_data_byte_for_byte(runs, moto_endpoint):
    assert "raw_data:" in runs["upload"].stdout and "[uploaded]" in runs["upload"].stdout
    for name in ("credit_data.csv", "credit_data_new.csv"):
        local = (runs["project"] / "data/01_raw" / name).read_bytes()
        assert _read(moto_endpoint, f"{PREFIX}/01_raw/{name}") == local


def test_upload_keeps_existing_objects_unless_told_to_overwrite(runs, moto_endpoint):
    key = f"{PREFIX}/01_raw/credit_data_new.csv"
    s3_client(moto_endpoint).put_object(Bucket=BUCKET, Key=key, Body=b"someone else's data")
    try:
        kept = run_kedro(runs["project"], "data", "upload", env=runs["env"])
        _ok(kept)
        assert "kept existing" in kept.stdout
        assert _read(moto_endpoint, key) == b"someone else's data"
        _ok(run_kedro(runs["project"], "data", "upload", "--overwrite", env=runs["env"]))
    finally:
        s3_client(moto_endpoint).upload_file(str(runs["project"] / "data/01_raw/credit_data_new.csv"), BUCKET, key)
    assert _read(moto_endpoint, key) == (runs["project"] / "data/01_raw/credit_data_new.csv").read_bytes()


def test_every_dataset_of_the_run_is_in_the_bucket(runs, moto_endpoint):
    keys = runs["after_first"]
    for path in PLAIN:
        assert f"{PREFIX}/{path}" in keys, path
    versions = {path: _versions(keys, path) for path in VERSIONED}
    assert all(len(v) == 1 for v in versions.values()), versions
    # One run, one version name for every versioned dataset.
    (version,) = {v[0] for v in versions.values()}
    plots = {k.rsplit("/", 1)[-1] for k in keys if k.startswith(f"{PREFIX}/08_reporting/plots/{version}/plots/")}
    assert PLOTS <= plots
    # Committed by its manifest, written last; nothing of the run is left "started".
    manifest = json.loads(_read(moto_endpoint, f"{PREFIX}/runs/committed/{version}.json"))
    assert manifest["saved"]["model"] == f"@{version}" and manifest["published"] is True
    assert not [k for k in keys if k.startswith(f"{PREFIX}/runs/started/")]
    # Nothing is written outside the prefix, and nothing locally under data/ except the raw inputs.
    assert all(k.startswith(PREFIX + "/") for k in keys)
    local = [p for p in (runs["project"] / "data").rglob("*") if p.is_file() and "01_raw" not in p.parts]
    assert local == []


def test_a_second_run_adds_versions_and_keeps_the_first(runs):
    first, second = runs["after_first"], runs["after_second"]
    assert set(first) <= set(second)
    for path in VERSIONED:
        assert len(_versions(second, path)) == 2, path
        assert _versions(first, path)[0] == _versions(second, path)[0]


def test_model_loads_back_from_s3_and_predicts(runs, moto_endpoint):
    version = _versions(runs["after_second"], "06_models/model")[-1]
    model = _model(moto_endpoint, version)
    new = pd.read_csv(io.BytesIO(_read(moto_endpoint, f"{PREFIX}/01_raw/credit_data_new.csv")))
    predictions = pd.read_csv(io.BytesIO(_read(
        moto_endpoint, f"{PREFIX}/07_model_output/predictions.csv/{version}/predictions.csv")))
    assert len(predictions) == len(new)
    assert (model.predict(new) == predictions["prediction"]).all()
    report = json.loads(_read(moto_endpoint, f"{PREFIX}/08_reporting/evaluation_report.json/{version}/evaluation_report.json"))
    assert 0.7 < report["test"]["roc_auc"] < 0.95


def test_load_versions_reproduces_the_first_run(runs, moto_endpoint):
    first, second = _versions(runs["after_second"], "06_models/model")

    def predictions(version: str) -> pd.DataFrame:
        key = f"{PREFIX}/07_model_output/predictions.csv/{version}/predictions.csv"
        return pd.read_csv(io.BytesIO(_read(moto_endpoint, key)))

    assert not predictions(first).equals(predictions(second)), "both runs trained the same model"
    _ok(run_kedro(runs["project"], "run", "--env", "aws", "--pipelines", "inference",
                  "--load-versions", f"model:{first}", env=runs["env"]))
    third = _versions(list_keys(moto_endpoint, BUCKET), "07_model_output/predictions.csv")[-1]
    assert third not in (first, second)
    pd.testing.assert_frame_equal(predictions(third), predictions(first))


def test_mlflow_artifacts_go_to_the_bucket(runs, moto_endpoint, monkeypatch):
    import mlflow

    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                 "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, runs["env"][name])
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{runs['project'] / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(f"ml_on_aws s3://{BUCKET}/{PREFIX}")
    assert experiment.artifact_location == f"s3://{BUCKET}/{PREFIX}/mlflow"
    run = client.search_runs([experiment.experiment_id])[0]
    client.log_text(run.info.run_id, "logged from the test", "notes/check.txt")
    key = f"{PREFIX}/mlflow/{run.info.run_id}/artifacts/notes/check.txt"
    assert _read(moto_endpoint, key) == b"logged from the test"


def test_monitoring_reads_the_endpoint_capture_in_s3_and_publishes_live_metrics(runs, moto_endpoint):
    """The bundled capture sample and its labels in the bucket where conf/aws/sagemaker.yml sends the
    endpoint's capture -> `kedro run --pipelines monitoring --env aws` -> the report in S3 and the
    metrics in CloudWatch (moto), as the stack's alarms and dashboard read them."""
    s3 = s3_client(moto_endpoint)
    captured = PROJECT_ROOT / "data/01_raw/captured"
    files = sorted(captured.rglob("*.jsonl"))
    for path in files:
        s3.upload_file(str(path), BUCKET, f"{PREFIX}/01_raw/captured/{path.relative_to(captured)}")
    s3.upload_file(str(PROJECT_ROOT / "data/01_raw/ground_truth_labels.csv"), BUCKET, f"{PREFIX}/01_raw/ground_truth_labels.csv")
    started = datetime.now(UTC)

    result = run_kedro(runs["project"], "run", "--env", "aws", "--pipelines", "monitoring", "--params",
                       "monitoring.window.end=2026-11-03T00:00:00Z,monitoring.model_version=ml_on_aws_credit_data/2",
                       env=runs["env"])

    _ok(result)
    (version,) = _versions(list_keys(moto_endpoint, BUCKET), "08_reporting/monitoring/monitoring_report.json")
    report = json.loads(_read(moto_endpoint, f"{PREFIX}/08_reporting/monitoring/monitoring_report.json/{version}/monitoring_report.json"))
    lines = sum(len(path.read_text().splitlines()) for path in files)
    assert (report["records"], report["unparsed_records"], report["retrain"]) == (lines - 1, 1, 0)
    assert report["labelled_rows"] > 100 and 0.7 < report["live_metrics"]["roc_auc"] < 0.95
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name=FAKE_CREDENTIALS["AWS_DEFAULT_REGION"],
                              aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    config = load_config(PROJECT_ROOT, "aws")
    dimensions = [{"Name": "ModelName", "Value": config.model_name}, {"Name": "Environment", "Value": config.environment},
                  {"Name": "Dataset", "Value": config.dataset}]
    names = ["drift_retrain_signal", "live_records", "live_unparsed_records", "live_roc_auc"]
    for dims in (dimensions, [*dimensions, {"Name": "ModelVersion", "Value": "ml_on_aws_credit_data/2"}]):
        data = cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": f"m{i}", "MetricStat": {"Period": 60, "Stat": "Maximum", "Metric": {
                "Namespace": config.namespace, "MetricName": name, "Dimensions": dims}}} for i, name in enumerate(names)],
            StartTime=started - timedelta(minutes=5), EndTime=datetime.now(UTC) + timedelta(minutes=5))
        values = {names[int(r["Id"][1:])]: r["Values"] for r in data["MetricDataResults"]}
        assert values == {"drift_retrain_signal": [0.0], "live_records": [float(lines - 1)], "live_unparsed_records": [1.0],
                          "live_roc_auc": [pytest.approx(report["live_metrics"]["roc_auc"])]}, dims


def test_monitoring_without_capture_files_names_the_folder(runs, moto_endpoint):
    result = run_kedro(runs["project"], "run", "--env", "aws", "--pipelines", "monitoring",
                       env={**runs["env"], "ML_ON_AWS_PREFIX": "team/no-capture"})
    _failed_with(result, "'captured_data': no object with key 'team/no-capture/01_raw/captured'",
                 "endpoint.data_capture")


# Failure modes. Each leaves the bucket exactly as it was.

def test_missing_bucket_is_named_before_anything_runs(runs, moto_endpoint):
    env = {**runs["env"], "ML_ON_AWS_BUCKET": "no-such-bucket"}
    result = run_kedro(runs["project"], "run", "--env", "aws", env=env)
    _failed_with(result, "S3AccessError", "S3 bucket 'no-such-bucket' does not exist at",
                 moto_endpoint, "ML_ON_AWS_BUCKET")
    assert "no-such-bucket" not in {b["Name"] for b in s3_client(moto_endpoint).list_buckets()["Buckets"]}


def test_rejected_credentials_are_reported_as_such(runs, moto_endpoint):
    before = list_keys(moto_endpoint, BUCKET)
    with moto_enforces_credentials(moto_endpoint):
        result = run_kedro(runs["project"], "run", "--env", "aws", env=runs["env"])
    _failed_with(result, "S3AccessError", "rejected the AWS credentials", "InvalidAccessKeyId",
                 f"bucket '{BUCKET}'", "access key ...MPLE")
    assert list_keys(moto_endpoint, BUCKET) == before


def test_unreachable_endpoint_fails_after_retries_and_leaves_no_version(runs, moto_endpoint):
    before = list_keys(moto_endpoint, BUCKET)
    down = closed_port_endpoint()
    result = run_kedro(runs["project"], "run", "--env", "aws", env={**runs["env"], "AWS_ENDPOINT_URL": down})
    _failed_with(result, "S3AccessError", f"Cannot reach S3 at {down} (from AWS_ENDPOINT_URL)",
                 "after 5 attempts", "Nothing was read or written")
    assert list_keys(moto_endpoint, BUCKET) == before
    assert _versions(before, "06_models/model") == _versions(list_keys(moto_endpoint, BUCKET), "06_models/model")


def test_missing_input_object_is_named_by_key(runs, moto_endpoint):
    prefix = "team/missing-input"
    s3 = s3_client(moto_endpoint)
    s3.copy_object(Bucket=BUCKET, Key=f"{prefix}/01_raw/credit_data.csv",
                   CopySource={"Bucket": BUCKET, "Key": f"{PREFIX}/01_raw/credit_data.csv"})
    result = run_kedro(runs["project"], "run", "--env", "aws", env={**runs["env"], "ML_ON_AWS_PREFIX": prefix})
    output = _failed_with(result, "S3AccessError", "'new_data': no object with key",
                          f"'{prefix}/01_raw/credit_data_new.csv' in bucket '{BUCKET}'", "kedro data upload")
    assert "'raw_data': no object" not in output
    assert list_keys(moto_endpoint, BUCKET, prefix) == [f"{prefix}/01_raw/credit_data.csv"]


def test_endpoint_lost_mid_run_leaves_only_complete_objects_and_says_so(runs, moto_endpoint):
    """S3 goes away right after the model is saved: the run stops, names the endpoint and the
    versions it left; every object written is complete and the earlier runs are untouched."""
    prefix = "team/cut-mid-run"
    s3 = s3_client(moto_endpoint)
    for name in ("credit_data.csv", "credit_data_new.csv"):
        s3.copy_object(Bucket=BUCKET, Key=f"{prefix}/01_raw/{name}",
                       CopySource={"Bucket": BUCKET, "Key": f"{PREFIX}/01_raw/{name}"})
    before = list_keys(moto_endpoint, BUCKET, PREFIX)
    proxy = EndpointThatDiesAfter(moto_endpoint, rf"^PUT /{BUCKET}/{prefix}/06_models/model/[^/]+/model/requirements\.txt[ ?]")
    env = {**runs["env"], "ML_ON_AWS_PREFIX": prefix, "AWS_ENDPOINT_URL": proxy.url}
    result = run_kedro(runs["project"], "run", "--env", "aws", "--params", FAST, env=env)
    assert proxy.down.is_set(), "the run never saved its model"
    output = _failed_with(result, f"The connection to S3 at {proxy.url} (from AWS_ENDPOINT_URL) failed",
                          "Could not connect to the endpoint URL", "Earlier versions are untouched")
    keys = list_keys(moto_endpoint, BUCKET, prefix)
    (version,) = _versions(keys, "06_models/model", prefix)
    assert f"Run {version} failed and is not committed" in output
    # The one model written is whole (S3 went down after its last file): it loads and predicts.
    model = _model(moto_endpoint, version, prefix)
    new = pd.read_csv(io.BytesIO(_read(moto_endpoint, f"{prefix}/01_raw/credit_data_new.csv")))
    assert len(model.predict(new)) == len(new)
    assert not [k for k in keys if "/08_reporting/evaluation_report.json/" in k]
    assert not [k for k in keys if "/runs/committed/" in k and version in k]
    assert list_keys(moto_endpoint, BUCKET, PREFIX) == before


def test_a_killed_run_is_never_loaded_and_is_listed_and_cleaned(runs, moto_endpoint):
    """SIGKILL inside evaluation: the killed run's model is on S3 but not committed; inference
    scores with the last good run's model; `kedro runs list/clean --env aws` show and remove it."""
    def newest_predictions() -> pd.DataFrame:
        version = _versions(list_keys(moto_endpoint, BUCKET), "07_model_output/predictions.csv")[-1]
        return pd.read_csv(io.BytesIO(_read(moto_endpoint, f"{PREFIX}/07_model_output/predictions.csv/{version}/predictions.csv")))

    _ok(run_kedro(runs["project"], "run", "--env", "aws", "--pipelines", "inference", env=runs["env"]))
    last_good = newest_predictions()
    killed = run_kedro_until_killed(runs["project"], "run", "--env", "aws", "--params", FAST + ",split.random_state=11",
                       env={**runs["env"], "ML_ON_AWS_TEST_KILL_AT": "after_node:evaluation.evaluate_model"})
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    models = _versions(list_keys(moto_endpoint, BUCKET), "06_models/model")
    assert len(models) == 3  # the killed run's model reached S3 ...
    _ok(run_kedro(runs["project"], "run", "--env", "aws", "--pipelines", "inference", env=runs["env"]))
    pd.testing.assert_frame_equal(newest_predictions(), last_good)  # ... and is not used

    listed = run_kedro(runs["project"], "runs", "list", "--env", "aws", env=runs["env"])
    _ok(listed)
    assert f"{models[-1]}  failed, killed or stopped" in listed.stdout
    assert f"s3://{BUCKET}/{PREFIX}/06_models/model/{models[-1]}" in listed.stdout
    cleaned = run_kedro(runs["project"], "runs", "clean", "--env", "aws", "--older-than", "0", env=runs["env"])
    _ok(cleaned)
    assert f"s3://{BUCKET}/{PREFIX}/06_models/model/{models[-1]}" in cleaned.stdout
    keys = list_keys(moto_endpoint, BUCKET, PREFIX)
    assert not [k for k in keys if models[-1] in k]
    assert _versions(keys, "06_models/model") == models[:2]
