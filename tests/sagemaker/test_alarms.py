"""The endpoint's rollback alarms: requests botocore's CloudWatch model accepts, as moto's server keeps them."""

from __future__ import annotations

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator

from ml_on_aws.aws.cloudwatch import CloudWatchConfig, dimensions
from ml_on_aws.sagemaker.alarms import alarm_names, endpoint_alarm_requests, rollback_alarm_names
from ml_on_aws.sagemaker.config import parse_config, read

from .conftest import REGION, ROOT

METRICS = CloudWatchConfig(model_name="credit", environment="prod", dataset="applications")


@pytest.fixture
def config(aws):
    raw = read(ROOT, "aws")
    raw["endpoint"]["deployment"]["alarms"] |= {"latency_threshold_us": 250_000, "live_quality_metric": "live_accuracy",
                                                "live_quality_threshold": 0.8}
    return parse_config(raw)


def test_the_three_alarms_reach_cloudwatch_as_defined(config):
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    model = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricAlarm")
    for request in endpoint_alarm_requests(config, metric_namespace=METRICS.namespace, metric_dimensions=dimensions(METRICS)):
        report = ParamValidator().validate(request, model.input_shape)
        assert not report.has_errors(), report.generate_report()
        cloudwatch.put_metric_alarm(**request)

    kept = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert sorted(kept) == sorted(alarm_names("ml-on-aws")) == sorted(
        ["ml-on-aws-invocation-5xx-errors", "ml-on-aws-model-latency", "ml-on-aws-live-quality"])
    variant = [{"Name": "EndpointName", "Value": "ml-on-aws"}, {"Name": "VariantName", "Value": "AllTraffic"}]

    def summary(name: str) -> tuple:
        alarm = kept[name]
        return (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"], alarm["Statistic"], alarm["Period"],
                alarm["EvaluationPeriods"], alarm.get("DatapointsToAlarm"), alarm["ComparisonOperator"],
                alarm["Threshold"], alarm["TreatMissingData"])

    assert summary("ml-on-aws-invocation-5xx-errors") == (
        "AWS/SageMaker", "Invocation5XXErrors", variant, "Sum", 60, 2, 2, "GreaterThanOrEqualToThreshold", 1.0, "notBreaching")
    assert summary("ml-on-aws-model-latency") == (
        "AWS/SageMaker", "ModelLatency", variant, "Average", 60, 2, 2, "GreaterThanThreshold", 250_000.0, "notBreaching")
    assert summary("ml-on-aws-live-quality") == (
        "MlOnAws", "live_accuracy",
        [{"Name": "ModelName", "Value": "credit"}, {"Name": "Environment", "Value": "prod"},
         {"Name": "Dataset", "Value": "applications"}],
        "Minimum", 3600, 1, None, "LessThanThreshold", 0.8, "notBreaching")


def test_an_update_rolls_back_on_the_endpoints_alarms_unless_others_are_named(config):
    assert rollback_alarm_names(config.endpoint) == alarm_names("ml-on-aws")
    raw = read(ROOT, "aws")
    raw["endpoint"]["deployment"]["rollback_alarms"] = ["team-errors"]
    assert rollback_alarm_names(parse_config(raw).endpoint) == ["team-errors"]
