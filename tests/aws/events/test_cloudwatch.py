"""Evaluation metrics and the drift signal published to CloudWatch by the hook, read back from
moto's server with get_metric_data (what the alarms of infra/stack.yml evaluate)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config

from ml_on_aws.aws.cloudwatch import CloudWatchHooks, load_config
from ml_on_aws.core.config import ConfigurationError
from tests.aws.events.conftest import REGION, ROOT, client

REPORT = {"task": "classification", "test": {"roc_auc": 0.61, "accuracy": 0.8, "f1": float("nan"), "support": True},
          "train": {"roc_auc": 0.9}}
SIGNAL = {"retrain": 1, "drifted_columns": ["Income", "Age"], "checked_columns": 13, "reasons": ["..."]}
DIMENSIONS = {"ModelName": "credit", "Environment": "aws", "Dataset": "applications"}


def hooks(enabled: bool = True, env: str = "aws") -> CloudWatchHooks:
    hook = CloudWatchHooks()
    raw = {"enabled": enabled, "namespace": "MlOnAwsTest", "model_name": "credit", "dataset": "applications"}
    hook.after_context_created(SimpleNamespace(config_loader={"cloudwatch": raw}, env=env))
    return hook


def read_back(names: list[str], dimensions: dict[str, str] = DIMENSIONS) -> dict[str, list[float]]:
    now = datetime.now(UTC)
    queries = [{"Id": f"m{i}", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": "MlOnAwsTest", "MetricName": name,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]},
        "Period": 60, "Stat": "Maximum"}} for i, name in enumerate(names)]
    results = client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5))
    return {names[int(r["Id"][1:])]: r["Values"] for r in results["MetricDataResults"]}


def test_evaluation_and_drift_metrics_round_trip(aws_account: str) -> None:
    hook = hooks()
    hook.after_node_run(SimpleNamespace(name="evaluation.evaluate_model"), {"evaluation_report": REPORT})
    hook.after_node_run(SimpleNamespace(name="drift.assess_drift"), {"drift_report": {}, "retrain_signal": SIGNAL})

    values = read_back(["test_roc_auc", "test_accuracy", "drift_retrain_signal", "drift_drifted_columns",
                        "drift_checked_columns", "test_f1", "test_support", "train_roc_auc"])
    assert values == {"test_roc_auc": [0.61], "test_accuracy": [0.8], "drift_retrain_signal": [1.0],
                      "drift_drifted_columns": [2.0], "drift_checked_columns": [13.0],
                      # not finite, not a score, not a test score: not published
                      "test_f1": [], "test_support": [], "train_roc_auc": []}


MONITORING = {"retrain": 1, "drifted_columns": ["Income"], "checked_columns": 13, "drift_share": 1 / 13,
              "records": 120, "unparsed_records": 2, "prediction_shift": 0.04, "prediction_drifted": False,
              "live_metrics": {"roc_auc": 0.81, "accuracy": 0.77, "log_loss": float("nan")}, "model_version": None}
LIVE = ["drift_retrain_signal", "live_drift_share", "live_records", "live_unparsed_records", "live_prediction_shift",
        "live_roc_auc", "live_accuracy", "live_log_loss"]


@pytest.mark.parametrize("version", [None, "ml_on_aws_credit_data/7"])
def test_the_monitoring_report_of_live_traffic_round_trips_per_model_version_when_known(aws_account: str, version) -> None:
    hook = hooks()
    hook.after_node_run(SimpleNamespace(name="monitoring.build_monitoring_report"),
                        {"monitoring_report": {**MONITORING, "model_version": version}})

    expected = {"drift_retrain_signal": [1.0], "live_drift_share": [1 / 13], "live_records": [120.0],
                "live_unparsed_records": [2.0], "live_prediction_shift": [0.04], "live_roc_auc": [0.81],
                "live_accuracy": [0.77], "live_log_loss": []}
    # The series the drift alarm watches (no ModelVersion), and one per model version for the dashboard.
    assert read_back(LIVE) == expected
    per_version = read_back(LIVE, {**DIMENSIONS, "ModelVersion": version or "none"})
    assert per_version == (expected if version else {name: [] for name in LIVE})


def test_nothing_is_sent_when_disabled_or_for_other_outputs(aws_account: str) -> None:
    hooks(enabled=False).after_node_run(SimpleNamespace(name="evaluation.evaluate_model"), {"evaluation_report": REPORT})
    hooks().after_node_run(SimpleNamespace(name="split"), {"train_set": object()})
    assert client("cloudwatch").list_metrics(Namespace="MlOnAwsTest")["Metrics"] == []


def test_a_failed_publish_is_logged_and_does_not_fail_the_run(aws_account: str, caplog: pytest.LogCaptureFixture) -> None:
    hook = hooks()
    hook._client = boto3.client("cloudwatch", region_name=REGION, endpoint_url="http://127.0.0.1:9",
                                config=Config(retries={"total_max_attempts": 1}, connect_timeout=1))
    with caplog.at_level(logging.ERROR):
        hook.after_node_run(SimpleNamespace(name="evaluation.evaluate_model"), {"evaluation_report": REPORT})
    assert "Could not publish 2 metrics of node evaluation.evaluate_model to CloudWatch namespace MlOnAwsTest" in caplog.text


def test_off_by_default_on_in_the_aws_environment() -> None:
    assert load_config(ROOT, "local").enabled is False
    assert load_config(ROOT, "aws").enabled is True


def test_a_bad_setting_names_the_key() -> None:
    hook = CloudWatchHooks()
    with pytest.raises(ConfigurationError, match="namespace"):
        hook.after_context_created(SimpleNamespace(config_loader={"cloudwatch": {"namespace": "AWS/EC2"}}, env="aws"))
