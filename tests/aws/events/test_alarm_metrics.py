"""The alarms of infra/stack.yml watch series that the SageMaker jobs publish.

A training job with a ``reference`` channel runs through the container's entry point (the
``sagemaker`` Kedro environment, as on SageMaker) against moto's server; every alarm's
namespace, metric name and dimensions, resolved with the parameters ``kedro aws deploy-stack``
passes, must then be a series moto holds datapoints for.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from cfnlint.decode import decode_str

from ml_on_aws.aws.cloudwatch import load_config, stack_parameters
from tests.aws.events.conftest import ROOT, client
from tests.sagemaker.test_entrypoint_contract import RAW, run_entrypoint, training_folder

pytestmark = pytest.mark.slow


def deployed_alarms(parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each alarm on the project's metrics: its Namespace, MetricName and Dimensions with its Refs resolved as CloudFormation
    would with ``parameters`` over the template's defaults."""
    template, problems = decode_str((ROOT / "infra" / "stack.yml").read_text())
    assert not problems, problems
    values = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()} | parameters

    def resolve(value: Any) -> str:
        return values[value["Ref"]] if isinstance(value, dict) else str(value)

    return {
        name: {
            "Namespace": resolve(r["Properties"]["Namespace"]),
            "MetricName": resolve(r["Properties"]["MetricName"]),
            "Dimensions": {d["Name"]: resolve(d["Value"]) for d in r["Properties"]["Dimensions"]},
        }
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == {"Ref": "MetricNamespace"}
        # The live-quality alarm comes with an endpoint (EndpointName); the monitoring job feeds it.
        and not (r.get("Condition") == "HasEndpoint" and not values["EndpointName"])
    }


def datapoints(alarm: dict[str, Any]) -> list[float]:
    now = datetime.now(UTC)
    result = client("cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": "m", "ReturnData": True, "MetricStat": {"Period": 60, "Stat": "Maximum", "Metric": {
            "Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
            "Dimensions": [{"Name": k, "Value": v} for k, v in alarm["Dimensions"].items()]}}}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5))
    return result["MetricDataResults"][0]["Values"]


def test_every_alarm_watches_a_series_the_training_job_publishes(aws_account: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ML_ON_AWS_PUBLISH_METRICS", "true")  # as on SageMaker, where the variable is unset
    credit = pd.read_csv(RAW / "credit_data.csv")
    opt_ml = training_folder(tmp_path, channels={"train": [credit.iloc[:1200]]})
    reference = opt_ml / "input" / "data" / "reference"
    reference.mkdir(parents=True)
    credit.iloc[2000:3000].assign(Income=lambda t: t["Income"] * 3).to_parquet(reference / "reference_data.parquet")
    config = opt_ml / "input" / "config" / "inputdataconfig.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "reference": {"TrainingInputMode": "File"}}))

    result = run_entrypoint(opt_ml, "train")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    alarms = deployed_alarms(stack_parameters(load_config(ROOT, "aws")))
    assert set(alarms) == {"ModelQualityAlarm", "DriftAlarm", "MissingDataAlarm"}
    missing = {name: alarm for name, alarm in alarms.items() if not datapoints(alarm)}
    published = client("cloudwatch").list_metrics()["Metrics"]
    assert missing == {}, f"alarms without data: {missing}; the job published {published}"
    assert datapoints(alarms["DriftAlarm"]) == [1.0]


def test_a_local_run_publishes_nothing(aws_account: str, tmp_path, monkeypatch) -> None:
    """`--local` runs set ML_ON_AWS_PUBLISH_METRICS=false: a laptop is not the deployment."""
    monkeypatch.setenv("ML_ON_AWS_PUBLISH_METRICS", "false")
    opt_ml = training_folder(tmp_path)

    result = run_entrypoint(opt_ml, "train")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "test_roc_auc=" in result.stdout
    assert client("cloudwatch").list_metrics()["Metrics"] == []


def test_the_job_environments_publish_and_the_local_default_does_not() -> None:
    assert load_config(ROOT, "sagemaker").enabled is True
    assert load_config(ROOT, "sagemaker_processing").enabled is True
    assert load_config(ROOT, "local").enabled is False
    # One series per deployment, whichever Kedro environment published it.
    assert {load_config(ROOT, env).environment for env in ("aws", "sagemaker", "sagemaker_processing")} == {"aws"}
