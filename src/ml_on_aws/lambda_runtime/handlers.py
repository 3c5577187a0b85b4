"""AWS Lambda handlers: new data in S3 starts a SageMaker job; a model alarm starts a retraining.

The stack's functions call :func:`data_arrival` and :func:`retraining` (infra/stack.yml names them
``ml_on_aws.lambda_runtime.handlers.<function>``). They read the event (:mod:`.events`) and start
the job (:mod:`.jobs`, whose helpers are importable from here too). They need nothing but boto3,
which the Lambda runtime provides, and pydantic, which the package vendors (docs/architecture.md
says why).

``data_arrival`` starts one job per new object under the configured prefix that the event
announces (:mod:`.events` lists the shapes). Through SQS it answers the SQS way:
``batchItemFailures`` lists the messages to deliver again, so one bad record never fails the
others. Events that are not about a new object under the configured prefix, or that cannot be
read, are logged with the reason and skipped; an object delivered twice starts one job.

``retraining`` takes a CloudWatch alarm state change (an EventBridge event, or the payload of a
Lambda alarm action) and starts a training job on the configured training data, unless the alarm
left the ALARM state or a training job of the project is still running.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from ml_on_aws.lambda_runtime.events import (
    AlarmChange,
    IgnoredEvent,
    NewObject,
    alarm_change,
    objects_in,
)
from ml_on_aws.lambda_runtime.jobs import (
    ARRIVAL_KIND,
    CONFIG_FILE_NAME,
    CONFIG_FILE_VARIABLE,
    IMAGE_VARIABLE,
    RETRAIN_KIND,
    ArrivalSettings,
    Clients,
    arrival_job_name,
    arrival_request,
    image_commit,
    image_uri,
    packaged_config,
    retrain_job_name,
    running_training_jobs,
    start_job,
)
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import SageMakerConfig

logger = logging.getLogger(__name__)
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# The entry points and handlers, and the event readers and job starters of .events and .jobs,
# which other handler modules may import from here.
__all__ = [
    "ARRIVAL_KIND", "CONFIG_FILE_NAME", "CONFIG_FILE_VARIABLE", "IMAGE_VARIABLE", "RETRAIN_KIND",
    "AlarmChange", "ArrivalSettings", "Clients", "IgnoredEvent", "NewObject", "Outcome",
    "alarm_change", "arrival_job_name", "arrival_request", "data_arrival", "handle_data_arrival",
    "handle_new_objects", "handle_retraining", "image_commit", "image_uri", "objects_in",
    "packaged_config", "retrain_job_name", "retraining", "running_training_jobs", "start_job",
]


# ---------------------------------------------------------------- handlers


def _check_wanted(obj: NewObject, settings: ArrivalSettings) -> None:
    if not obj.key.startswith(settings.prefix):
        raise IgnoredEvent(f"{obj.uri} is not under the prefix {settings.prefix!r}")
    if not obj.key.endswith(settings.suffix):
        raise IgnoredEvent(f"{obj.uri} does not end with {settings.suffix!r}")
    if obj.key.endswith("/"):
        raise IgnoredEvent(f"{obj.uri} is a folder marker")


@dataclass
class Outcome:
    """What one invocation did, returned to Lambda (and logged)."""

    started: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"started": self.started, "existing": self.existing, "ignored": self.ignored, "failed": self.failed}


def handle_new_objects(
    objects: list[NewObject], config: SageMakerConfig, settings: ArrivalSettings, image: str, clients: Clients, outcome: Outcome
) -> None:
    for obj in objects:
        try:
            _check_wanted(obj, settings)
        except IgnoredEvent as reason:
            logger.info("Ignored: %s", reason)
            outcome.ignored.append(str(reason))
            continue
        kind, request = arrival_request(config, settings, obj, image=image, s3=clients.s3)
        name = request.get("TrainingJobName") or request["ProcessingJobName"]
        result = start_job(clients.sagemaker, kind, request)
        logger.info("%s job %s for %s: %s", kind, name, obj.uri, result)
        (outcome.started if result == "started" else outcome.existing).append(name)


def handle_data_arrival(
    event: Any, config: SageMakerConfig, settings: ArrivalSettings, image: str, clients: Clients
) -> dict[str, Any]:
    """Start one job per new object the event announces; see the module's docstring."""
    outcome = Outcome()
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list) and records and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records):
        failures = []
        for record in records:
            try:
                handle_new_objects(objects_in(record.get("body")), config, settings, image, clients, outcome)
            except IgnoredEvent as reason:
                logger.warning("Ignored SQS message %s: %s", record.get("messageId"), reason)
                outcome.ignored.append(f"message {record.get('messageId')}: {reason}")
            except Exception as exc:  # delivered again by SQS; the other messages are done
                logger.exception("SQS message %s failed", record.get("messageId"))
                outcome.failed.append(f"message {record.get('messageId')}: {exc}")
                failures.append({"itemIdentifier": record.get("messageId")})
        logger.info("Outcome: %s", json.dumps(outcome.as_dict()))
        return {"batchItemFailures": failures, **outcome.as_dict()}
    try:
        objects = objects_in(event)
    except IgnoredEvent as reason:
        logger.warning("Ignored event: %s", reason)
        outcome.ignored.append(str(reason))
        return outcome.as_dict()
    # A failure raises: Lambda's retry delivers the event again, and the jobs already started
    # count as existing then.
    handle_new_objects(objects, config, settings, image, clients, outcome)
    logger.info("Outcome: %s", json.dumps(outcome.as_dict()))
    return outcome.as_dict()


def handle_retraining(event: Any, config: SageMakerConfig, image: str, clients: Clients) -> dict[str, Any]:
    """Start a training job for an alarm that entered ALARM, at most one running at a time."""
    try:
        change = alarm_change(event)
        if change.state != "ALARM":
            raise IgnoredEvent(f"alarm {change.name} went to {change.state}; only ALARM asks for retraining")
    except IgnoredEvent as reason:
        logger.info("Ignored: %s", reason)
        return {"status": "ignored", "reason": str(reason)}
    running = running_training_jobs(clients.sagemaker, config)
    if running:
        reason = f"alarm {change.name}: training job {running[0]} is still running; no second retraining"
        logger.info("Skipped: %s", reason)
        return {"status": "skipped", "reason": reason}
    name = retrain_job_name(config, change.name, change.changed_at)
    request = rq.training_job_request(config, image_uri=image, job_name=name, commit=image_commit(image))
    result = start_job(clients.sagemaker, "training", request)
    logger.info("Alarm %s (%s): training job %s %s", change.name, change.reason, name, result)
    return {"status": result, "job": name, "alarm": change.name}


def data_arrival(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point of the data-arrival function."""
    config = packaged_config()
    return handle_data_arrival(event, config, ArrivalSettings.from_environment(), image_uri(config), Clients())


def retraining(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point of the retraining function."""
    config = packaged_config()
    return handle_retraining(event, config, image_uri(config), Clients())
