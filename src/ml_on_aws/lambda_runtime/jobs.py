"""Starting the SageMaker jobs the Lambda functions ask for, and what they are configured with.

The configuration is the project's validated SageMaker configuration, which the deployment
package carries as JSON (``kedro aws lambda-package`` resolves ``conf/<env>/sagemaker.yml`` with
the stack's bucket and role), the image to run, and the data-arrival function's environment
variables (:class:`ArrivalSettings`). Requests are built with the launcher's own builders
(:mod:`ml_on_aws.sagemaker.requests`), so a job started here is the request ``kedro sagemaker``
sends.

A job's name is derived from what asked for it (the bucket, key and version of a new object; the
alarm and the time of its state change), so an event delivered twice, which S3, SQS and
EventBridge all do, starts one job: a job of that name that already exists counts as started.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from ml_on_aws.lambda_runtime.events import NewObject
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import SageMakerConfig, parse_config
from ml_on_aws.sagemaker.models import newest_model

# Where the package keeps the resolved configuration (the root of the zip), unless overridden.
CONFIG_FILE_VARIABLE = "ML_ON_AWS_LAMBDA_CONFIG"
CONFIG_FILE_NAME = "sagemaker_config.json"
IMAGE_VARIABLE = "ML_ON_AWS_IMAGE_URI"
# Job names: <name_prefix>-<kind>-<digest>; the IAM policies allow only names with the prefix.
ARRIVAL_KIND = "new"
RETRAIN_KIND = "retrain"
_DIGEST_LENGTH = 20
# Error codes that mean "a job of this name exists already" rather than a failure.
_EXISTS_CODES = {"ResourceInUse", "ResourceInUseException"}


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


def image_commit(uri: str) -> str:
    """The tag of ``repository:tag`` (push-image tags images with the git commit)."""
    name = uri.rsplit("/", 1)[-1]
    return name.split("@", 1)[0].rpartition(":")[2] or "unknown"


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
        return "training", rq.training_job_request(configured, image_uri=image, job_name=name, commit=commit)
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
        configured, settings.pipeline, image_uri=image, job_name=name, commit=commit, model_data_url=model
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


def running_training_jobs(sagemaker: Any, config: SageMakerConfig) -> list[str]:
    """Training jobs of the project (by name prefix) that are still in progress."""
    names = []
    for page in sagemaker.get_paginator("list_training_jobs").paginate(
        NameContains=f"{config.name_prefix}-", StatusEquals="InProgress"
    ):
        names += [job["TrainingJobName"] for job in page["TrainingJobSummaries"]
                  if job["TrainingJobName"].startswith(f"{config.name_prefix}-")]
    return names

