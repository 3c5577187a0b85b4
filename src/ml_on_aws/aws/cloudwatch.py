"""Publish the model's evaluation metrics and the drift retrain signal to CloudWatch.

The alarms of infra/stack.yml watch these metrics: ``test_<metric>`` (model quality, from the
``evaluation_report`` output) and ``drift_retrain_signal`` (0 or 1, from the ``retrain_signal``
output of the drift pipeline), each with the dimensions ModelName, Environment and Dataset.
The monitoring pipeline's ``monitoring_report`` (live traffic) publishes ``drift_retrain_signal``
too, so drift in live traffic moves the same alarm, and ``live_<metric>`` (quality on labelled
traffic), ``live_drift_share``, ``live_records``, ``live_unparsed_records`` and
``live_prediction_shift``; each again with a ModelVersion dimension when the report names the
model version, so a dashboard can show them per version.

Publishing is a Kedro hook (:class:`CloudWatchHooks`, after the node that produced one of those
outputs), so the nodes stay free of I/O and a pipeline runs the same with or without it.
It is configured per environment in ``conf/<env>/cloudwatch.yml``: off in ``conf/base``
(nothing leaves a laptop by default), on in ``conf/aws`` and in the environments the SageMaker
jobs run (``conf/sagemaker``, ``conf/sagemaker_processing``), which is where the alarms' metrics
come from on AWS. The Environment dimension names the deployment (``environment``, the stack's
MetricEnvironment), not the Kedro environment: a laptop run with ``--env aws`` and the jobs of
that deployment publish the same series.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ml_on_aws.core.config import ConfigurationError, problems, project_config_loader

logger = logging.getLogger(__name__)

CONFIG_NAME = "cloudwatch"
# PutMetricData takes at most 1000 metrics per request.
_BATCH = 1000


class CloudWatchConfig(BaseModel):
    """The whole ``cloudwatch.yml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    namespace: str = Field(default="MlOnAws", min_length=1, max_length=255, pattern=r"^[^:]")
    model_name: str = Field(default="ml-on-aws", min_length=1, max_length=1024)
    dataset: str = Field(default="raw_data", min_length=1, max_length=1024,
                         description="Value of the Dataset dimension: a name for the data the model is about.")
    environment: str = Field(default="aws", min_length=1, max_length=1024,
                             description="Value of the Environment dimension: the deployment (the stack's MetricEnvironment).")
    region: str | None = Field(default=None, description="None: the AWS chain's region (AWS_REGION, profile).")
    evaluation_output: str = "evaluation_report"
    drift_output: str = "retrain_signal"
    monitoring_output: str = "monitoring_report"

    @field_validator("namespace")
    @classmethod
    def _not_aws(cls, value: str) -> str:
        if value.startswith("AWS/"):
            raise ValueError(f"{value!r}: namespaces starting with AWS/ are reserved for AWS services")
        return value


def parse_config(raw: Mapping[str, Any] | None, source: str = "conf/<env>/cloudwatch.yml") -> CloudWatchConfig:
    try:
        return CloudWatchConfig.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise ConfigurationError(f"Invalid CloudWatch configuration in {source} ({'; '.join(problems(exc))}).") from None


def load_config(project_path: Path, env: str) -> CloudWatchConfig:
    """``cloudwatch.yml`` of ``env`` over ``base``; defaults (disabled) when there is none."""
    # Read by `kedro aws deploy-stack` before the bucket of the data exists.
    loader = project_config_loader(project_path, env, data_locations=False)
    return parse_config(_read(loader), source=f"conf/{{base,{env}}}/{CONFIG_NAME}.yml")


def stack_parameters(config: CloudWatchConfig) -> dict[str, str]:
    """The parameters of infra/stack.yml that make its alarms watch what ``config`` publishes."""
    return {
        "MetricNamespace": config.namespace,
        "MetricModelName": config.model_name,
        "MetricEnvironment": config.environment,
        "MetricDataset": config.dataset,
    }


def _read(loader: Any) -> dict[str, Any]:
    try:
        return loader[CONFIG_NAME]
    except KeyError:
        return {}


# ---------------------------------------------------------------- metrics


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def evaluation_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """``test_<name>`` for every finite number among the report's test scores."""
    scores = report.get("test") or {}
    found = {f"test_{name}": _number(value) for name, value in scores.items()}
    return {name: value for name, value in found.items() if value is not None}


def drift_metrics(signal: Mapping[str, Any]) -> dict[str, float]:
    """The 0/1 retrain signal and how many columns drifted out of how many were checked."""
    found = {
        "drift_retrain_signal": _number(signal.get("retrain")),
        "drift_drifted_columns": float(len(signal.get("drifted_columns") or [])),
        "drift_checked_columns": _number(signal.get("checked_columns")),
    }
    return {name: value for name, value in found.items() if value is not None}


def monitoring_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """From the monitoring report of live traffic: the retrain signal (the drift alarm's metric),
    ``live_<name>`` per live quality metric, and the traffic's drift share, record counts and
    prediction shift."""
    found = {
        "drift_retrain_signal": _number(report.get("retrain")),
        "live_drift_share": _number(report.get("drift_share")),
        "live_records": _number(report.get("records")),
        "live_unparsed_records": _number(report.get("unparsed_records")),
        "live_prediction_shift": _number(report.get("prediction_shift")),
        **{f"live_{name}": _number(value) for name, value in (report.get("live_metrics") or {}).items()},
    }
    return {name: value for name, value in found.items() if value is not None}


def dimensions(config: CloudWatchConfig) -> list[dict[str, str]]:
    return [
        {"Name": "ModelName", "Value": config.model_name},
        {"Name": "Environment", "Value": config.environment},
        {"Name": "Dataset", "Value": config.dataset},
    ]


def metric_data(metrics: Mapping[str, float], dims: list[dict[str, str]], timestamp: datetime) -> list[dict[str, Any]]:
    return [{"MetricName": name, "Dimensions": dims, "Timestamp": timestamp, "Value": value, "Unit": "None"}
            for name, value in sorted(metrics.items())]


def _batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), _BATCH):
        yield items[start:start + _BATCH]


def publish(cloudwatch: Any, namespace: str, data: list[dict[str, Any]]) -> None:
    for batch in _batches(data):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)


# ---------------------------------------------------------------- the hook


class CloudWatchHooks:
    """Publish after the evaluation, drift and monitoring nodes when ``cloudwatch.yml`` enables it."""

    def __init__(self) -> None:
        self.config = CloudWatchConfig()
        self._client: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self.config = parse_config(_read(context.config_loader))

    @hook_impl
    def after_node_run(self, node: Any, outputs: dict[str, Any]) -> None:
        if not self.config.enabled:
            return
        metrics: dict[str, float] = {}
        version = None
        if self.config.evaluation_output in outputs:
            metrics |= evaluation_metrics(outputs[self.config.evaluation_output])
        if self.config.drift_output in outputs:
            metrics |= drift_metrics(outputs[self.config.drift_output])
        if self.config.monitoring_output in outputs:
            report = outputs[self.config.monitoring_output]
            metrics |= monitoring_metrics(report)
            version = report.get("model_version")
        if not metrics:
            return
        now, dims = datetime.now(UTC), dimensions(self.config)
        data = metric_data(metrics, dims, now)
        if version:
            data += metric_data(metrics, [*dims, {"Name": "ModelVersion", "Value": str(version)}], now)
        try:
            publish(self.client(), self.config.namespace, data)
        except Exception as exc:
            # Metrics are monitoring: their loss must not fail a run whose outputs are saved.
            # The missing-data alarm notices a drift signal that stops arriving.
            logger.error("Could not publish %d metrics of node %s to CloudWatch namespace %s: %s",
                         len(data), node.name, self.config.namespace, exc)
            return
        logger.info("Published to CloudWatch %s (%s%s): %s", self.config.namespace,
                    ", ".join(f"{d['Name']}={d['Value']}" for d in dims),
                    f"; and with ModelVersion={version}" if version else "",
                    ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items())))

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("cloudwatch", **({"region_name": self.config.region} if self.config.region else {}))
        return self._client
