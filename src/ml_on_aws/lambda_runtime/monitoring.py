"""The scheduled monitoring job: an EventBridge schedule starts the ``monitoring`` processing job.

``monitoring_schedule`` takes the event a scheduled EventBridge rule sends (``detail-type``
``Scheduled Event``; its ``time`` is when the schedule fired, and every redelivery of that
event carries the same one) and starts the processing job of the ``monitoring`` pipeline
(``processing.pipelines.monitoring`` of ``sagemaker.yml``, or ``MONITORING_PIPELINE``) with the
request builder ``kedro sagemaker process`` uses. The job covers the window of live traffic that
ends at the scheduled time and spans the schedule's period (``MONITORING_WINDOW_HOURS``), passed
to the container as Kedro runtime parameters after the pipeline name::

    ContainerArguments: [monitoring, --params, monitoring.window.end=2026-12-01T02:00:00Z,monitoring.window.hours=24]

so that back-to-back runs cover the traffic once. The job's name is derived from the scheduled
time (``<name_prefix>-monitor-<yyyymmdd-hhmmss>``): a redelivered event finds the job it started
and reports it as existing. Each job writes its outputs below ``<output>/<job name>/``, so the
reports of earlier windows are kept.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ml_on_aws.lambda_runtime.events import IgnoredEvent
from ml_on_aws.lambda_runtime.jobs import (
    Clients,
    image_commit,
    image_uri,
    packaged_config,
    start_job,
)
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import SageMakerConfig
from ml_on_aws.sagemaker.models import newest_model

logger = logging.getLogger(__name__)
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

MONITOR_KIND = "monitor"
PIPELINE_VARIABLE = "MONITORING_PIPELINE"
WINDOW_HOURS_VARIABLE = "MONITORING_WINDOW_HOURS"
DEFAULT_PIPELINE = "monitoring"
# The parameters of conf/base/parameters.yml the monitoring pipeline reads its window from.
WINDOW_END_PARAMETER = "monitoring.window.end"
WINDOW_HOURS_PARAMETER = "monitoring.window.hours"
# Logged once per event: "Monitoring job <name>: started (window ...)" is what the stack's metric
# filter counts as a job started (MonitoringJobsStartedFilter; tests keep the two in step).
JOB_LOG = "Monitoring job %s: %s (window of %s h to %s)"


@dataclass(frozen=True)
class MonitoringSettings:
    """What the monitoring-schedule function does, from its environment variables."""

    pipeline: str = DEFAULT_PIPELINE
    window_hours: int = 24

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> MonitoringSettings:
        environ = os.environ if environ is None else environ
        hours = environ.get(WINDOW_HOURS_VARIABLE, "24")
        if not hours.isdigit() or int(hours) < 1:
            raise ValueError(f"{WINDOW_HOURS_VARIABLE}={hours!r} is not a whole number of hours above 0 "
                             "(the stack sets it from MonitoringPeriodHours).")
        return cls(pipeline=environ.get(PIPELINE_VARIABLE) or DEFAULT_PIPELINE, window_hours=int(hours))


def scheduled_time(event: Any) -> datetime:
    """When the schedule fired: the ``time`` of EventBridge's ``Scheduled Event`` (UTC)."""
    if not isinstance(event, dict):
        raise IgnoredEvent(f"the event is a {type(event).__name__}, not a JSON object")
    if event.get("detail-type", "Scheduled Event") != "Scheduled Event":
        raise IgnoredEvent(f"EventBridge event {event.get('detail-type')!r} is not a Scheduled Event")
    value = event.get("time")
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        raise IgnoredEvent(f"the event's time {value!r} is not an ISO-8601 time "
                           "(a manual run: send {\"time\": \"2026-12-01T02:00:00Z\"})")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def window_end(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def monitoring_job_name(config: SageMakerConfig, when: datetime) -> str:
    """One name per scheduled time: ``<name_prefix>-monitor-20261201-020000`` (at most 56 characters)."""
    return f"{config.name_prefix}-{MONITOR_KIND}-{when.strftime('%Y%m%d-%H%M%S')}"


def window_arguments(when: datetime, hours: int) -> list[str]:
    """The container arguments after the pipeline name that give the run its window."""
    return ["--params", f"{WINDOW_END_PARAMETER}={window_end(when)},{WINDOW_HOURS_PARAMETER}={hours}"]


def monitoring_request(
    config: SageMakerConfig, settings: MonitoringSettings, when: datetime, *, image: str, s3: Any
) -> dict[str, Any]:
    """``create_processing_job`` arguments of the monitoring run for the window ending ``when``."""
    name = monitoring_job_name(config, when)
    job = rq.processing_job(config, settings.pipeline)
    # Through the launcher's builder, with the window appended to the configured arguments (later
    # --params win in the container) and the outputs below the job's name.
    outputs = {key: item.model_copy(update={"s3_uri": f"{item.s3_uri.rstrip('/')}/{name}"}) for key, item in job.outputs.items()}
    arguments = [*job.arguments, *window_arguments(when, settings.window_hours)]
    scheduled = job.model_copy(update={"arguments": arguments, "outputs": outputs})
    pipelines = {**config.processing.pipelines, settings.pipeline: scheduled}
    configured = config.model_copy(update={"processing": config.processing.model_copy(update={"pipelines": pipelines})})
    model = (config.model.s3_uri or newest_model(s3, config.training.output_s3_uri)) if job.model_input else None
    return rq.processing_job_request(
        configured, settings.pipeline, image_uri=image, job_name=name, commit=image_commit(image), model_data_url=model
    )


def handle_monitoring_schedule(
    event: Any, config: SageMakerConfig, settings: MonitoringSettings, image: str, clients: Clients
) -> dict[str, Any]:
    """Start the monitoring job of the scheduled window, once however often the event arrives."""
    try:
        when = scheduled_time(event)
    except IgnoredEvent as reason:
        logger.warning("Ignored: %s", reason)
        return {"status": "ignored", "reason": str(reason)}
    # A failure raises: Lambda retries the event, then sends it to the on-failure destination.
    request = monitoring_request(config, settings, when, image=image, s3=clients.s3)
    name = request["ProcessingJobName"]
    result = start_job(clients.sagemaker, "processing", request)
    logger.info(JOB_LOG, name, result, settings.window_hours, window_end(when))
    outcome = {"status": result, "job": name, "window_end": window_end(when), "window_hours": settings.window_hours}
    logger.info("Outcome: %s", json.dumps(outcome))
    return outcome


def monitoring_schedule(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point of the monitoring-schedule function."""
    config = packaged_config()
    return handle_monitoring_schedule(event, config, MonitoringSettings.from_environment(), image_uri(config), Clients())
