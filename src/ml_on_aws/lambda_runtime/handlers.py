"""AWS Lambda handlers: new data in S3 starts a SageMaker job; a model alarm starts a retraining.

Both build their requests with the launcher's own builders (:mod:`ml_on_aws.sagemaker.requests`)
from the project's validated SageMaker configuration, which the deployment package carries as
JSON (``kedro aws lambda-package`` resolves ``conf/<env>/sagemaker.yml`` with the stack's
bucket and role). They need nothing but boto3, which the Lambda runtime provides, and pydantic,
which the package vendors (docs/architecture.md says why).

``data_arrival`` takes S3 ``ObjectCreated`` events in the three shapes AWS delivers them:

- a direct S3 notification (``{"Records": [{"eventSource": "aws:s3", ...}]}``),
- the same through SQS (``{"Records": [{"eventSource": "aws:sqs", "body": ...}]}``; the body is an
  S3 notification or an EventBridge event), answered the SQS way: ``batchItemFailures`` lists
  the messages to deliver again, so one bad record never fails the others,
- an EventBridge event (``{"source": "aws.s3", "detail-type": "Object Created", ...}``).

A job's name is derived from the bucket, the key and the object's version (or ETag), so the same
object delivered twice, which S3 and SQS both do, starts one job: a job of that name that already
exists counts as started. Events that are not about a new object under the configured prefix,
or that cannot be read, are logged with the reason and skipped.

``retraining`` takes a CloudWatch alarm state change (an EventBridge event, or the payload of a
Lambda alarm action) and starts a training job on the configured training data, unless the alarm
left the ALARM state or a training job of the project is still running.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import ClientError

from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import SageMakerConfig, parse_config
from ml_on_aws.sagemaker.models import newest_model

logger = logging.getLogger(__name__)
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Where the package keeps the resolved configuration (the root of the zip), unless overridden.
CONFIG_FILE_VARIABLE = "ML_ON_AWS_LAMBDA_CONFIG"
CONFIG_FILE_NAME = "sagemaker_config.json"
IMAGE_VARIABLE = "ML_ON_AWS_IMAGE_URI"
# The image's digest, when the stack knows it (else the one IMAGE_VARIABLE pins, if any): the jobs
# record it in their models' lineage.
IMAGE_DIGEST_VARIABLE = "ML_ON_AWS_IMAGE_DIGEST"
# Job names: <name_prefix>-<kind>-<digest>; the IAM policies allow only names with the prefix.
ARRIVAL_KIND = "new"
RETRAIN_KIND = "retrain"
_DIGEST_LENGTH = 20
# Error codes that mean "a job of this name exists already" rather than a failure.
_EXISTS_CODES = {"ResourceInUse", "ResourceInUseException"}


class IgnoredEvent(Exception):
    """An event (or record) that asks for no job; the message says why."""


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ArrivalSettings:
    """What the data-arrival function does, from its environment variables."""

    prefix: str = ""
    suffix: str = ""
    job: str = "processing"  # or "training"
    pipeline: str = "inference"  # the processing.pipelines entry
    input_name: str | None = None  # the channel / input the object replaces; None: the first

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> ArrivalSettings:
        environ = os.environ if environ is None else environ
        settings = cls(
            prefix=environ.get("ARRIVAL_PREFIX", ""),
            suffix=environ.get("ARRIVAL_SUFFIX", ""),
            job=environ.get("ARRIVAL_JOB", "processing"),
            pipeline=environ.get("PROCESSING_PIPELINE", "inference"),
            input_name=environ.get("ARRIVAL_INPUT") or None,
        )
        if settings.job not in ("processing", "training"):
            raise ValueError(f"ARRIVAL_JOB must be 'processing' or 'training', got {settings.job!r}.")
        return settings


@cache
def packaged_config(path: str | None = None) -> SageMakerConfig:
    """The SageMaker configuration the package carries, parsed once per Lambda container."""
    location = Path(path or os.environ.get(CONFIG_FILE_VARIABLE) or Path(__file__).parents[2] / CONFIG_FILE_NAME)
    return parse_config(json.loads(location.read_text()), source=str(location))


def image_uri(config: SageMakerConfig, environ: dict[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    uri = environ.get(IMAGE_VARIABLE) or config.image.uri
    if not uri:
        raise ValueError(f"No image to run: set {IMAGE_VARIABLE} (the stack sets it from ImageTag) or image.uri.")
    return uri


def image_digest(environ: dict[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    return environ.get(IMAGE_DIGEST_VARIABLE) or None


def image_commit(uri: str) -> str:
    """The tag of ``repository:tag`` (push-image tags images with the git commit)."""
    name = uri.rsplit("/", 1)[-1]
    return name.split("@", 1)[0].rpartition(":")[2] or "unknown"


# ---------------------------------------------------------------- reading events


@dataclass(frozen=True)
class NewObject:
    bucket: str
    key: str
    version: str  # version id, else ETag, else the event's sequencer: what makes it this object

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _from_s3_record(record: dict[str, Any]) -> NewObject:
    """One record of an S3 notification (``Records[*]`` with ``eventSource`` ``aws:s3``)."""
    name = record.get("eventName", "")
    if not name.startswith("ObjectCreated:"):
        raise IgnoredEvent(f"S3 event {name or '<no eventName>'} is not an ObjectCreated event")
    s3 = record.get("s3") or {}
    obj = s3.get("object") or {}
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
    # (S3 -> Lambda, SQS, SNS): "The s3 key provides information about the bucket and object
    # involved in the event. The object key name value is URL encoded. For example, "red
    # flower.jpg" becomes "red+flower.jpg" (Amazon S3 returns "application/x-www-form-urlencoded"
    # as the content type in the response)."
    return _new_object(
        (s3.get("bucket") or {}).get("name"),
        _form_decoded(obj.get("key")),
        obj.get("versionId") or obj.get("eTag") or obj.get("sequencer"),
    )


def _from_eventbridge(event: dict[str, Any]) -> NewObject:
    """An EventBridge ``Object Created`` event of S3."""
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise IgnoredEvent(
            f"EventBridge event {event.get('source')!r}/{event.get('detail-type')!r} is not an S3 Object Created event"
        )
    detail = event.get("detail") or {}
    obj = detail.get("object") or {}
    # Decoded like a notification's key. The S3 user guide's EventBridge page
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) states no encoding
    # either way: its field list says only "object — Information about the Amazon S3 object
    # involved in the event", and its "Object created" example key is "example-key", which reads
    # the same encoded or not. AWS's own reader of this event, Powertools for AWS Lambda (Python),
    # decodes it: S3EventBridgeNotificationObject.key is `return unquote_plus(self["key"])`
    # (https://docs.aws.amazon.com/powertools/python/latest/api/utilities/data_classes/s3_event.html),
    # as S3Event.object_key is "Get the object key for the first s3 event record and unquote plus".
    # moto 5.2.5 puts the raw key in this event (its S3 -> SQS path quote_plus-encodes it):
    # the tests hand moto's EventBridge events over encoded the way AWS's reader expects.
    return _new_object(
        (detail.get("bucket") or {}).get("name"),
        _form_decoded(obj.get("key")),
        obj.get("version-id") or obj.get("etag") or obj.get("eTag") or obj.get("sequencer"),
    )


def _form_decoded(key: Any) -> Any:
    """An event's ``application/x-www-form-urlencoded`` key as S3 names the object: ``+`` is a
    space, ``%2B`` a plus, ``%25`` a percent sign, ``%2F`` (how moto sends ``/``) a slash."""
    return unquote_plus(key) if isinstance(key, str) else key


def _new_object(bucket: Any, key: Any, version: Any) -> NewObject:
    """The object of an event whose key the caller has already decoded."""
    if not isinstance(bucket, str) or not bucket:
        raise IgnoredEvent("the event names no bucket")
    if not isinstance(key, str) or not key:
        raise IgnoredEvent("the event names no object key")
    if not version:
        raise IgnoredEvent(f"s3://{bucket}/{key}: the event has no version id, ETag or sequencer to tell one upload from the next")
    return NewObject(bucket=bucket, key=key, version=str(version))


def objects_in(message: Any) -> list[NewObject]:
    """The new objects one S3 notification or EventBridge event announces (an SQS body, say),
    also wrapped by SNS (a topic's message in a queue, or a topic invoking the function).

    Raises :class:`IgnoredEvent` when the message announces none (test events, other kinds).
    """
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except json.JSONDecodeError as exc:
            raise IgnoredEvent(f"the message is not JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(message, dict):
        raise IgnoredEvent(f"the message is a {type(message).__name__}, not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        raise IgnoredEvent("s3:TestEvent (sent when a notification is configured)")
    if message.get("Type") == "Notification" and "Message" in message:  # through SNS
        return objects_in(message["Message"])
    if "detail-type" in message:
        return [_from_eventbridge(message)]
    records = message.get("Records")
    if isinstance(records, list):
        found = []
        for record in records:
            if isinstance(record, dict) and record.get("EventSource") == "aws:sns":  # S3 -> SNS -> Lambda
                found += objects_in((record.get("Sns") or {}).get("Message"))
                continue
            if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
                raise IgnoredEvent("a record is not an S3 event record")
            found.append(_from_s3_record(record))
        return found
    raise IgnoredEvent("neither an S3 notification nor an EventBridge event")


def _check_wanted(obj: NewObject, settings: ArrivalSettings) -> None:
    if not obj.key.startswith(settings.prefix):
        raise IgnoredEvent(f"{obj.uri} is not under the prefix {settings.prefix!r}")
    if not obj.key.endswith(settings.suffix):
        raise IgnoredEvent(f"{obj.uri} does not end with {settings.suffix!r}")
    if obj.key.endswith("/"):
        raise IgnoredEvent(f"{obj.uri} is a folder marker")


# ---------------------------------------------------------------- starting jobs


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:_DIGEST_LENGTH]


def arrival_job_name(config: SageMakerConfig, obj: NewObject) -> str:
    """Same bucket, key and version, same name: SageMaker refuses a second job of that name."""
    return f"{config.name_prefix}-{ARRIVAL_KIND}-{_digest(obj.bucket, obj.key, obj.version)}"


def retrain_job_name(config: SageMakerConfig, alarm: str, changed_at: str) -> str:
    """One name per alarm state change, so a redelivered alarm event starts no second job."""
    return f"{config.name_prefix}-{RETRAIN_KIND}-{_digest(alarm, changed_at)}"


@dataclass
class Clients:
    """The boto3 clients the handlers use (made lazily; tests pass their own)."""

    sagemaker: Any = None
    s3: Any = None

    def __post_init__(self) -> None:
        self.sagemaker = self.sagemaker or boto3.client("sagemaker")
        self.s3 = self.s3 or boto3.client("s3")


def arrival_request(
    config: SageMakerConfig, settings: ArrivalSettings, obj: NewObject, *, image: str, s3: Any
) -> tuple[str, dict[str, Any]]:
    """(kind, request) of the job that takes ``obj`` as its input; kind is training or processing."""
    name = arrival_job_name(config, obj)
    commit = image_commit(image)
    if settings.job == "training":
        channels = config.training.channels
        channel = settings.input_name or next(iter(channels))
        if channel not in channels:
            raise ValueError(f"ARRIVAL_INPUT={channel!r} is not a training channel (channels: {', '.join(channels)}).")
        replaced = {**channels, channel: channels[channel].model_copy(update={"s3_uri": obj.uri})}
        training = config.training.model_copy(update={"channels": replaced})
        configured = config.model_copy(update={"training": training})
        return "training", rq.training_job_request(configured, image_uri=image, job_name=name, commit=commit,
                                                   image_digest=image_digest())
    job = rq.processing_job(config, settings.pipeline)
    inputs = job.inputs
    input_name = settings.input_name or next(iter(inputs), None)
    if input_name not in inputs:
        raise ValueError(
            f"processing.pipelines.{settings.pipeline} has no input {input_name!r} to give the new object to "
            f"(inputs: {', '.join(inputs) or 'none'}); set ARRIVAL_INPUT."
        )
    # The object alone, with the configured distribution: under ShardedByS3Key one instance scores
    # it and the others exit with nothing to do; FullyReplicated would score it once per instance.
    replaced = {**inputs, input_name: inputs[input_name].model_copy(update={"s3_uri": obj.uri})}
    # Each job writes below its own name: the next object's job must not overwrite this one's.
    outputs = {key: item.model_copy(update={"s3_uri": f"{item.s3_uri.rstrip('/')}/{name}"}) for key, item in job.outputs.items()}
    pipelines = {**config.processing.pipelines, settings.pipeline: job.model_copy(update={"inputs": replaced, "outputs": outputs})}
    configured = config.model_copy(update={"processing": config.processing.model_copy(update={"pipelines": pipelines})})
    model = (config.model.s3_uri or newest_model(s3, config.training.output_s3_uri)) if job.model_input else None
    return "processing", rq.processing_job_request(
        configured, settings.pipeline, image_uri=image, job_name=name, commit=commit, model_data_url=model,
        image_digest=image_digest(),
    )


def start_job(sagemaker: Any, kind: str, request: dict[str, Any]) -> str:
    """Create the job unless one of its name exists: ``started`` or ``exists``."""
    if kind == "training":
        name, describe, create = request["TrainingJobName"], sagemaker.describe_training_job, sagemaker.create_training_job
        key = "TrainingJobName"
    else:
        name, describe, create = request["ProcessingJobName"], sagemaker.describe_processing_job, sagemaker.create_processing_job
        key = "ProcessingJobName"
    try:
        describe(**{key: name})
        return "exists"
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
            raise
    try:
        create(**request)
    except ClientError as exc:  # another delivery of the same object won the race
        error = exc.response["Error"]
        if error["Code"] in _EXISTS_CODES or "already exists" in error.get("Message", ""):
            return "exists"
        raise
    return "started"


# ---------------------------------------------------------------- handlers


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


@dataclass(frozen=True)
class AlarmChange:
    name: str
    state: str
    changed_at: str
    reason: str


def alarm_change(event: Any) -> AlarmChange:
    """The alarm state change of an EventBridge event or a Lambda alarm-action payload."""
    if not isinstance(event, dict):
        raise IgnoredEvent(f"the event is a {type(event).__name__}, not a JSON object")
    if event.get("detail-type") == "CloudWatch Alarm State Change":
        data = event.get("detail") or {}
    elif "alarmData" in event:  # the alarm invokes the function directly
        data = event["alarmData"] or {}
    else:
        raise IgnoredEvent("not a CloudWatch alarm state change")
    state = data.get("state") or {}
    name, value = data.get("alarmName"), state.get("value")
    if not name or not value:
        raise IgnoredEvent("the alarm event has no alarm name or state")
    changed_at = state.get("timestamp") or event.get("time") or ""
    if not changed_at:
        raise IgnoredEvent(f"alarm {name}: the event has no time to tell one state change from the next")
    return AlarmChange(name=name, state=value, changed_at=changed_at, reason=state.get("reason", ""))


def running_training_jobs(sagemaker: Any, config: SageMakerConfig) -> list[str]:
    """Training jobs of the project (by name prefix) that are still in progress."""
    names = []
    for page in sagemaker.get_paginator("list_training_jobs").paginate(
        NameContains=f"{config.name_prefix}-", StatusEquals="InProgress"
    ):
        names += [job["TrainingJobName"] for job in page["TrainingJobSummaries"]
                  if job["TrainingJobName"].startswith(f"{config.name_prefix}-")]
    return names


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
    request = rq.training_job_request(config, image_uri=image, job_name=name, commit=image_commit(image),
                                      image_digest=image_digest())
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
