"""Pure builders of the CloudWatch alarms that guard the endpoint during a blue/green update.

SageMaker rolls an update back when an alarm named in ``AutoRollbackConfiguration`` goes to
ALARM during a baking period (docs: "Auto-Rollback Configuration and Monitoring"). The endpoint
has three, named after it so that the stack (infra/stack.yml, when its EndpointName parameter
names the endpoint) and ``kedro sagemaker deploy`` (otherwise, ``alarms.create``) create the same:

- ``<endpoint>-invocation-5xx-errors``: AWS/SageMaker ``Invocation5XXErrors`` of the variant,
  Sum over a minute >= ``errors_threshold`` in 2 of 2 minutes;
- ``<endpoint>-model-latency``: AWS/SageMaker ``ModelLatency`` (microseconds) of the variant,
  Average over a minute > ``latency_threshold_us`` in 2 of 2 minutes;
- ``<endpoint>-live-quality``: ``live_<metric>`` that the ``monitoring`` pipeline publishes
  (namespace and dimensions of conf/<env>/cloudwatch.yml) below ``live_quality_threshold``.

Missing data is "not breaching" for all three: an endpoint without traffic, or a day without a
monitoring run, is no reason to roll back.
"""

from __future__ import annotations

from typing import Any

from ml_on_aws.sagemaker.config import EndpointConfig, SageMakerConfig, required_section

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
ERRORS_SUFFIX = "-invocation-5xx-errors"
LATENCY_SUFFIX = "-model-latency"
LIVE_QUALITY_SUFFIX = "-live-quality"
# SageMaker publishes endpoint invocation metrics every minute.
ENDPOINT_METRIC_PERIOD_SECONDS = 60


def alarm_names(endpoint_name: str) -> list[str]:
    """The names of the endpoint's three alarms: 5xx errors, model latency, live quality."""
    return [endpoint_name + suffix for suffix in (ERRORS_SUFFIX, LATENCY_SUFFIX, LIVE_QUALITY_SUFFIX)]


def rollback_alarm_names(endpoint: EndpointConfig) -> list[str]:
    """The alarms an update names for automatic rollback: ``deployment.rollback_alarms``, or the
    endpoint's three when it is not set."""
    configured = endpoint.deployment.rollback_alarms
    return list(configured) if configured is not None else alarm_names(endpoint.name)


def endpoint_alarm_requests(
    config: SageMakerConfig, *, metric_namespace: str, metric_dimensions: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Keyword arguments of ``put_metric_alarm`` for each of the endpoint's three alarms.

    ``metric_namespace`` and ``metric_dimensions`` are those the project's metrics are published
    with (``aws.cloudwatch.dimensions`` of cloudwatch.yml), where the live-quality metric is.
    """
    endpoint = required_section(config.endpoint, "endpoint")
    settings = endpoint.deployment.alarms
    errors, latency, live = alarm_names(endpoint.name)
    variant = [{"Name": "EndpointName", "Value": endpoint.name}, {"Name": "VariantName", "Value": endpoint.variant_name}]
    per_minute = {
        "Namespace": SAGEMAKER_NAMESPACE,
        "Dimensions": variant,
        "Period": ENDPOINT_METRIC_PERIOD_SECONDS,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "TreatMissingData": "notBreaching",
    }
    return [
        {
            "AlarmName": errors,
            "AlarmDescription": f"Endpoint {endpoint.name} answered >= {settings.errors_threshold} 5xx errors a minute, "
                                "2 minutes running; a deployment in progress rolls back.",
            "MetricName": "Invocation5XXErrors",
            "Statistic": "Sum",
            "Threshold": float(settings.errors_threshold),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            **per_minute,
        },
        {
            "AlarmName": latency,
            "AlarmDescription": f"Model latency of endpoint {endpoint.name} averaged over "
                                f"{settings.latency_threshold_us} microseconds, 2 minutes running; a deployment in "
                                "progress rolls back.",
            "MetricName": "ModelLatency",
            "Statistic": "Average",
            "Threshold": float(settings.latency_threshold_us),
            "ComparisonOperator": "GreaterThanThreshold",
            **per_minute,
        },
        {
            "AlarmName": live,
            "AlarmDescription": f"{settings.live_quality_metric} of the traffic endpoint {endpoint.name} served is "
                                f"below {settings.live_quality_threshold:g} (monitoring pipeline); a deployment in "
                                "progress rolls back.",
            "Namespace": metric_namespace,
            "MetricName": settings.live_quality_metric,
            "Dimensions": list(metric_dimensions),
            "Statistic": "Minimum",
            "Period": settings.live_quality_period_seconds,
            "EvaluationPeriods": 1,
            "Threshold": settings.live_quality_threshold,
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    ]
