"""Pure builders of the boto3 SageMaker requests the project sends.

Every function here takes the validated configuration (:class:`~.config.SageMakerConfig`) and
the values only known at launch time (image URI, job name, git commit, model location) and
returns the keyword arguments of one boto3 call, e.g.::

    name = job_name(config.name_prefix, "train", commit, datetime.now(UTC))
    request = training_job_request(config, image_uri=uri, job_name=name, commit=commit)
    boto3.client("sagemaker").create_training_job(**request)

No function reads files, the clock or the network, so the CLI launcher, the local runner
(:mod:`.local`, which runs the very same request with Docker) and Lambda handlers share them.
Names follow SageMaker's rule ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``.

SageMaker checks the maximums of a request only when it arrives (botocore checks none), so
every builder returns its request through :func:`checked`, which refuses one over the limits of
its operation (:data:`LIMITS`, one table for every kind of request: tags, environment,
hyperparameters; and the image URI) with an error naming the sagemaker.yml key and the limit.
It counts the final request because the builders add entries of their own (the tags naming the
commit and the job, variables in the environment). Limits of the configuration alone (run times,
the transform payload, a volume KMS key on instances with local storage) are checked by the
models of :mod:`.config`. :func:`check_requests` builds every request a configuration defines,
for callers (the launcher) that check before their first AWS call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.sagemaker.alarms import rollback_alarm_names
from ml_on_aws.sagemaker.config import (
    EndpointConfig,
    ProcessingJobConfig,
    SageMakerConfig,
    TransformJobConfig,
    capacity_size,
    required_section,
)

MAX_NAME_LENGTH = 63
PROCESSING_INPUT_ROOT = "/opt/ml/processing/input"
PROCESSING_OUTPUT_ROOT = "/opt/ml/processing/output"
# Tag keys that make every resource traceable to the code that made it.
TAG_COMMIT = "ml-on-aws:git-commit"
TAG_JOB = "ml-on-aws:job"


# The SageMaker API Reference, cited by each limit.
_API = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/"


@dataclass(frozen=True)
class MapLimit:
    """A string-to-string map of a request (or its tag list) and what SageMaker takes in it."""

    path: tuple[str, ...]  # where the map is in the request
    key: str  # the sagemaker.yml key whose entries fill it
    entries: int
    key_length: int
    value_length: int
    reference: str
    key_pattern: str | None = None
    total_bytes: int | None = None  # keys and values together, UTF-8


# Environment variable names SageMaker takes in every job's and model's Environment.
_ENV_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"

# Tag: "Maximum number of 50 items" per request (API_CreateTrainingJob.html, Tags; the same for
# every Create* call), key 1-128 and value 0-256 characters (API_Tag.html); AWS allows 50 tags
# per resource.
TAGS = MapLimit(("Tags",), "tags", 50, 128, 256, _API + "API_Tag.html")

LIMITS: dict[str, tuple[MapLimit, ...]] = {
    "CreateTrainingJob": (
        # HyperParameters: "You can specify a maximum of 100 hyperparameters. Each hyperparameter
        # is a key-value pair. Each key and value is limited to 256 characters", but the field's
        # value length constraint is 2500 (botocore: HyperParameterValue max 2500).
        MapLimit(("HyperParameters",), "training.hyperparameters", 100, 256, 2500,
                 _API + "API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-HyperParameters"),
        # Environment: maximum 100 items, key and value at most 512 characters.
        MapLimit(("Environment",), "environment", 100, 512, 512,
                 _API + "API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-Environment", _ENV_NAME),
        TAGS,
    ),
    "CreateProcessingJob": (
        # Environment: maximum 100 items, key and value at most 256 characters.
        MapLimit(("Environment",), "environment", 100, 256, 256,
                 _API + "API_CreateProcessingJob.html#sagemaker-CreateProcessingJob-request-Environment", _ENV_NAME),
        TAGS,
    ),
    "CreateModel": (
        # ContainerDefinition.Environment: maximum 100 items; "The maximum length of each key and
        # value in the Environment map is 1024 bytes. The maximum length of all keys and values in
        # the map, combined, is 32 KB."
        MapLimit(("PrimaryContainer", "Environment"), "environment", 100, 1024, 1024,
                 _API + "API_ContainerDefinition.html#sagemaker-Type-ContainerDefinition-Environment",
                 _ENV_NAME, total_bytes=32 * 1024),
        TAGS,
    ),
    "CreateTransformJob": (
        # Environment: "We support up to 16 key and values entries in the map", key at most 1024,
        # value at most 10240 characters.
        MapLimit(("Environment",), "environment", 16, 1024, 10240,
                 _API + "API_CreateTransformJob.html#sagemaker-CreateTransformJob-request-Environment",
                 r"[a-zA-Z_][a-zA-Z0-9_]{0,1023}"),
        TAGS,
    ),
    "CreateEndpointConfig": (TAGS,),
    "CreateEndpoint": (TAGS,),
}

# Where each request names its image. AlgorithmSpecification.TrainingImage, AppSpecification.ImageUri
# and ContainerDefinition.Image take at most 255 characters (ContainerDefinition: pattern [\S]+).
IMAGES: dict[str, tuple[str, ...]] = {
    "CreateTrainingJob": ("AlgorithmSpecification", "TrainingImage"),
    "CreateProcessingJob": ("AppSpecification", "ImageUri"),
    "CreateModel": ("PrimaryContainer", "Image"),
}
IMAGE_MAX_LENGTH = 255

# An image reference as Docker's distribution/reference grammar defines it:
# [host[:port]/]path[:tag][@digest]; path components are lower case.
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
_TAG_OR_DIGEST = r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
_REFERENCE = re.compile(rf"^(?:(?P<host>{_HOST})/)?{_PATH}{_TAG_OR_DIGEST}$")
# An ECR registry: <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] (ECR's registry URI form).
_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr(?:-fips)?\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?$")


def image_problem(uri: str) -> str | None:
    """Why SageMaker cannot pull ``uri``, or None.

    Training and processing jobs pull from ECR
    (``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@sha256:<digest>]``); models
    can also name another registry (``host[:port]/path[:tag]``), reached through the VPC. Both are
    Docker image references; ``--local`` also runs a local image name without a registry.
    """
    if len(uri) > IMAGE_MAX_LENGTH:
        return f"is {len(uri)} characters; SageMaker takes image URIs of at most {IMAGE_MAX_LENGTH}"
    match = _REFERENCE.match(uri)
    if match is None:
        return (
            f"{uri!r} is not an image reference: expected "
            "<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:<digest>] "
            "(or host[:port]/path[:tag] for another registry), lower-case repository, no scheme or spaces"
        )
    host = match["host"] or ""
    if "dkr.ecr" in host and not _ECR_HOST.match(host):
        return (
            f"{host!r} is not an ECR registry: expected <12-digit account>.dkr.ecr.<region>.amazonaws.com"
            " (.amazonaws.com.cn in China)"
        )
    return None


def checked(operation: str, config: Any, request: dict[str, Any]) -> dict[str, Any]:
    """``request`` for ``operation``, or :class:`ConfigurationError` naming each sagemaker.yml key
    whose entries exceed what SageMaker takes in it, with the limit. ``config`` (the
    :class:`~.config.SageMakerConfig` the request was built from) tells which entries the
    project added."""
    problems = [
        problem
        for limit in LIMITS.get(operation, ())
        for problem in _map_problems(operation, limit, _find(request, limit.path), _configured(config, limit.key))
    ]
    if operation in IMAGES:
        uri = _find(request, IMAGES[operation])
        problem = image_problem(uri) if isinstance(uri, str) else None
        if problem:
            problems.append(f"image.uri: {problem}")
    if problems:
        lines = "".join(f"\n  - {problem}" for problem in problems)
        raise ConfigurationError(f"SageMaker would refuse this {operation} request (nothing was sent):{lines}")
    return request


def _map_problems(operation: str, limit: MapLimit, found: Any, configured: Mapping[str, Any]) -> list[str]:
    if not found:
        return []
    entries = {item["Key"]: item["Value"] for item in found} if isinstance(found, list) else dict(found)
    where = f"{operation} ({limit.reference})"
    problems = []
    if len(entries) > limit.entries:
        added = [key for key in entries if key not in configured]
        origin = f" ({len(entries) - len(added)} configured + {len(added)} the project adds: {', '.join(added)})" if added else ""
        problems.append(f"{limit.key}: {len(entries)} entries{origin}; {where} takes at most {limit.entries}")
    for key, value in entries.items():
        name = f"{limit.key}.{_short(key)}"
        if len(key) > limit.key_length:
            problems.append(f"{name}: the name is {len(key)} characters; {where} takes at most {limit.key_length}")
        elif limit.key_pattern and not re.fullmatch(limit.key_pattern, key):
            problems.append(f"{name}: {where} takes only names matching {limit.key_pattern}")
        if len(value) > limit.value_length:
            problems.append(f"{name}: the value is {len(value)} characters; {where} takes at most {limit.value_length}")
    if limit.total_bytes is not None:
        size = sum(len(key.encode()) + len(value.encode()) for key, value in entries.items())
        if size > limit.total_bytes:
            problems.append(f"{limit.key}: names and values are {size} bytes in all; {where} takes at most {limit.total_bytes}")
    return problems


def _find(request: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = request
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _configured(config: Any, dotted: str) -> Mapping[str, Any]:
    node = config
    for part in dotted.split("."):
        node = getattr(node, part, None)
    return node if isinstance(node, Mapping) else {}


def _short(key: str, keep: int = 40) -> str:
    return key if len(key) <= keep else f"{key[:keep]}... ({len(key)} characters)"


def job_name(prefix: str, kind: str, commit: str, now: datetime) -> str:
    """``<prefix>-<kind>-<commit7>-<YYYYmmdd-HHMMSS-mmm>``, at most 63 characters.

    The time goes down to milliseconds so two launches in the same second get different
    names; the prefix and kind are shortened first when the whole does not fit.
    """
    stamp = now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond // 1000:03d}"
    tail = "-".join(part for part in (_slug(commit)[:7], stamp) if part)
    head = _slug(f"{prefix}-{kind}")[: MAX_NAME_LENGTH - len(tail) - 1].strip("-")
    return f"{head}-{tail}" if head else tail


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-zA-Z0-9]+", "-", text)).strip("-")


def hyperparameter_values(hyperparameters: dict[str, Any]) -> dict[str, str]:
    """SageMaker takes hyperparameters as strings: booleans as ``true``/``false``, other
    non-strings as JSON (``0.1``, ``[1, 2]``), strings unchanged (not JSON-quoted)."""
    return {
        str(key): value if isinstance(value, str) else json.dumps(value)
        for key, value in hyperparameters.items()
    }


def tags(config: SageMakerConfig, commit: str, job: str) -> list[dict[str, str]]:
    """The configured tags plus the git commit and the job kind (pipeline name)."""
    merged = {**config.tags, TAG_COMMIT: commit, TAG_JOB: job}
    return [{"Key": key, "Value": value} for key, value in merged.items()]


def _vpc(config: SageMakerConfig) -> dict[str, Any]:
    if config.vpc is None:
        return {}
    return {"VpcConfig": {"Subnets": list(config.vpc.subnets), "SecurityGroupIds": list(config.vpc.security_group_ids)}}


def _if(key: str, value: Any) -> dict[str, Any]:
    """``{key: value}`` when the value is set: boto3 refuses ``None`` for optional fields."""
    return {key: value} if value not in (None, {}, []) else {}


def training_job_request(config: SageMakerConfig, *, image_uri: str, job_name: str, commit: str) -> dict[str, Any]:
    """Keyword arguments of ``create_training_job``: one channel per configured input,
    the model uploaded under ``training.output_s3_uri/<job_name>/output/model.tar.gz``."""
    training = config.training
    return checked("CreateTrainingJob", config, {
        "TrainingJobName": job_name,
        "RoleArn": config.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": image_uri,
            "TrainingInputMode": "File",
            **_if("MetricDefinitions", [{"Name": m.name, "Regex": m.regex} for m in training.metric_definitions]),
        },
        **_if("HyperParameters", hyperparameter_values(training.hyperparameters)),
        "InputDataConfig": [
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": channel.s3_uri,
                        "S3DataDistributionType": channel.distribution,
                    }
                },
                "InputMode": "File",
                **_if("ContentType", channel.content_type),
            }
            for name, channel in training.channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": training.output_s3_uri, **_if("KmsKeyId", config.kms.output_key_id)},
        "ResourceConfig": {
            "InstanceType": training.instance_type,
            "InstanceCount": training.instance_count,
            "VolumeSizeInGB": training.volume_size_gb,
            **_if("VolumeKmsKeyId", config.kms.volume_key_id),
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": training.max_runtime_seconds},
        "EnableNetworkIsolation": config.network_isolation,
        **_vpc(config),
        **_if("Environment", container_environment(config)),
        "Tags": tags(config, commit, "train"),
    })


def container_environment(config: SageMakerConfig) -> dict[str, str]:
    """The variables of every job's and the model's container: ``environment`` and, unless it
    sets one, the region, so that the container's AWS clients (CloudWatch metrics, MLflow on
    S3) call the region the job runs in without relying on what SageMaker sets."""
    region = {"AWS_DEFAULT_REGION": config.region} if config.region else {}
    return {**region, **config.environment}


def processing_job(config: SageMakerConfig, pipeline: str) -> ProcessingJobConfig:
    """The processing settings of ``pipeline``, or an error naming the configured ones."""
    if pipeline not in config.processing.pipelines:
        known = ", ".join(sorted(config.processing.pipelines)) or "none"
        raise ConfigurationError(f"processing.pipelines.{pipeline} is not configured in sagemaker.yml (configured: {known}).")
    return config.processing.pipelines[pipeline]


def processing_job_request(
    config: SageMakerConfig,
    pipeline: str,
    *,
    image_uri: str,
    job_name: str,
    commit: str,
    model_data_url: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``create_processing_job`` running the Kedro ``pipeline``.

    The container is started as ``<processing.entrypoint> <pipeline> <arguments>``. Inputs with
    ``ShardedByS3Key`` give each of the ``instance_count`` instances its own share of the
    objects; every instance uploads its output directory to the same S3 prefix, so the
    container must name its files per instance (the outputs are then combinable).
    When the job has a ``model_input``, ``model_data_url`` (a model.tar.gz) is given to every
    instance under that input name.
    """
    job = processing_job(config, pipeline)
    inputs = {name: (item.s3_uri, item.local_path, item.distribution) for name, item in job.inputs.items()}
    if job.model_input:
        if model_data_url is None:
            raise ConfigurationError(f"processing.pipelines.{pipeline}.model_input needs a model.tar.gz location.")
        inputs[job.model_input] = (model_data_url, None, "FullyReplicated")
    return checked("CreateProcessingJob", config, {
        "ProcessingJobName": job_name,
        "RoleArn": config.role_arn,
        "AppSpecification": {
            "ImageUri": image_uri,
            "ContainerEntrypoint": list(config.processing.entrypoint),
            "ContainerArguments": [pipeline, *job.arguments],
        },
        "ProcessingInputs": [
            {
                "InputName": name,
                "S3Input": {
                    "S3Uri": s3_uri,
                    "LocalPath": local_path or f"{PROCESSING_INPUT_ROOT}/{name}",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": distribution,
                },
            }
            for name, (s3_uri, local_path, distribution) in inputs.items()
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": name,
                    "S3Output": {
                        "S3Uri": item.s3_uri,
                        "LocalPath": item.local_path or f"{PROCESSING_OUTPUT_ROOT}/{name}",
                        "S3UploadMode": "EndOfJob",
                    },
                }
                for name, item in job.outputs.items()
            ],
            **_if("KmsKeyId", config.kms.output_key_id),
        },
        "ProcessingResources": {"ClusterConfig": _cluster(job, config)},
        "StoppingCondition": {"MaxRuntimeInSeconds": job.max_runtime_seconds},
        "NetworkConfig": {"EnableNetworkIsolation": config.network_isolation, **_vpc(config)},
        **_if("Environment", container_environment(config)),
        "Tags": tags(config, commit, f"process-{pipeline}"),
    })


def _cluster(job: ProcessingJobConfig, config: SageMakerConfig) -> dict[str, Any]:
    return {
        "InstanceCount": job.instance_count,
        "InstanceType": job.instance_type,
        "VolumeSizeInGB": job.volume_size_gb,
        **_if("VolumeKmsKeyId", config.kms.volume_key_id),
    }


def model_request(
    config: SageMakerConfig, *, model_name: str, image_uri: str, model_data_url: str, commit: str
) -> dict[str, Any]:
    """Keyword arguments of ``create_model``: the image serving ``model.tar.gz``."""
    return checked("CreateModel", config, {
        "ModelName": model_name,
        "ExecutionRoleArn": config.role_arn,
        "PrimaryContainer": {
            "Image": image_uri,
            "ModelDataUrl": model_data_url,
            **_if("Environment", container_environment(config)),
        },
        "EnableNetworkIsolation": config.network_isolation,
        **_vpc(config),
        "Tags": tags(config, commit, "model"),
    })


def transform_job_request(
    config: SageMakerConfig, *, job_name: str, model_name: str, commit: str
) -> dict[str, Any]:
    """Keyword arguments of ``create_transform_job`` scoring ``transform.input_s3_uri``."""
    transform: TransformJobConfig = required_section(config.transform, "transform")
    return checked("CreateTransformJob", config, {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "BatchStrategy": transform.batch_strategy,
        "MaxPayloadInMB": transform.max_payload_mb,
        "MaxConcurrentTransforms": transform.max_concurrent_transforms,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": transform.input_s3_uri}},
            "ContentType": transform.content_type,
            "SplitType": transform.split_type,
        },
        "TransformOutput": {
            "S3OutputPath": transform.output_s3_uri,
            "Accept": transform.accept,
            "AssembleWith": "Line",
            **_if("KmsKeyId", config.kms.output_key_id),
        },
        "TransformResources": {
            "InstanceType": transform.instance_type,
            "InstanceCount": transform.instance_count,
            **_if("VolumeKmsKeyId", config.kms.volume_key_id),
        },
        "DataProcessing": {"JoinSource": transform.join_source},
        **_if("Environment", container_environment(config)),
        "Tags": tags(config, commit, "transform"),
    })


def endpoint_config_request(
    config: SageMakerConfig,
    *,
    config_name: str,
    model_name: str,
    commit: str,
    extra_tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``create_endpoint_config``: one variant serving ``model_name``, with
    data capture when ``endpoint.data_capture.enabled``. ``extra_tags`` (``{"Key", "Value"}``
    items, e.g. the model version the endpoint serves) are added to the tags, replacing a
    configured tag of the same key, and counted against the limit of 50."""
    endpoint: EndpointConfig = required_section(config.endpoint, "endpoint")
    return checked("CreateEndpointConfig", config, {
        "EndpointConfigName": config_name,
        "ProductionVariants": [
            {
                "VariantName": endpoint.variant_name,
                "ModelName": model_name,
                "InitialInstanceCount": endpoint.instance_count,
                "InstanceType": endpoint.instance_type,
            }
        ],
        **_if("DataCaptureConfig", data_capture_config(config)),
        **_if("KmsKeyId", config.kms.volume_key_id),
        "Tags": _merged_tags(tags(config, commit, "endpoint"), extra_tags or []),
    })


def _merged_tags(base: list[dict[str, str]], extra: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {item["Key"]: item["Value"] for item in base} | {item["Key"]: item["Value"] for item in extra}
    return [{"Key": key, "Value": value} for key, value in merged.items()]


def data_capture_config(config: SageMakerConfig) -> dict[str, Any]:
    """The endpoint config's ``DataCaptureConfig``, or ``{}`` when capture is off. SageMaker writes
    ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``; CSV and JSON requests are
    captured as text (``CaptureContentTypeHeader``), anything else base64-encoded. The files are
    encrypted with ``data_capture.kms_key_id`` or else ``kms.output_key_id``."""
    capture = required_section(config.endpoint, "endpoint").data_capture
    if not capture.enabled:
        return {}
    modes = [mode for mode, on in (("Input", capture.capture_input), ("Output", capture.capture_output)) if on]
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": capture.sampling_percentage,
        "DestinationS3Uri": capture.destination_s3_uri,
        **_if("KmsKeyId", capture.kms_key_id or config.kms.output_key_id),
        "CaptureOptions": [{"CaptureMode": mode} for mode in modes],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": list(capture.csv_content_types),
            "JsonContentTypes": list(capture.json_content_types),
        },
    }


def deployment_config(config: SageMakerConfig) -> dict[str, Any]:
    """``update_endpoint``'s ``DeploymentConfig``: a blue/green update shifting traffic as
    ``endpoint.deployment.strategy`` says, rolled back when one of the rollback alarms goes to
    ALARM during a baking period (none listed: no ``AutoRollbackConfiguration``)."""
    endpoint: EndpointConfig = required_section(config.endpoint, "endpoint")
    deployment = endpoint.deployment
    routing: dict[str, Any] = {
        "Type": deployment.strategy.upper(),
        "WaitIntervalInSeconds": deployment.wait_interval_seconds,
    }
    if deployment.strategy == "canary":
        routing["CanarySize"] = capacity_size(deployment.canary_size)
    elif deployment.strategy == "linear":
        routing["LinearStepSize"] = capacity_size(deployment.linear_step_size)
    alarms = rollback_alarm_names(endpoint)
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": deployment.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": deployment.maximum_execution_timeout_seconds,
        },
        **_if("AutoRollbackConfiguration", {"Alarms": [{"AlarmName": name} for name in alarms]} if alarms else None),
    }


def endpoint_request(config: SageMakerConfig, *, config_name: str, commit: str, exists: bool) -> dict[str, Any]:
    """Keyword arguments of ``create_endpoint``, or of ``update_endpoint`` when it ``exists``: a
    blue/green update (:func:`deployment_config`) that serves throughout and rolls back on the
    rollback alarms."""
    endpoint: EndpointConfig = required_section(config.endpoint, "endpoint")
    request = {"EndpointName": endpoint.name, "EndpointConfigName": config_name}
    if exists:
        return {**request, "DeploymentConfig": deployment_config(config)}
    return checked("CreateEndpoint", config, {**request, "Tags": tags(config, commit, "endpoint")})


def check_requests(config: SageMakerConfig, *, image_uri: str, commit: str) -> None:
    """Build every request ``config`` defines (training, each processing pipeline, the model with
    the transform job and the endpoint when configured), so that a limit any of them would break
    raises :class:`ConfigurationError` now; names and the model location are placeholders."""
    name = job_name(config.name_prefix, "check", commit, datetime(2000, 1, 1))
    model_data_url = config.model.s3_uri or model_artifact_url(config.training.output_s3_uri, name)
    training_job_request(config, image_uri=image_uri, job_name=name, commit=commit)
    for pipeline in config.processing.pipelines:
        processing_job_request(config, pipeline, image_uri=image_uri, job_name=name, commit=commit,
                               model_data_url=model_data_url)
    if config.transform is not None or config.endpoint is not None:
        model_request(config, model_name=name, image_uri=image_uri, model_data_url=model_data_url, commit=commit)
    if config.transform is not None:
        transform_job_request(config, job_name=name, model_name=name, commit=commit)
    if config.endpoint is not None:
        endpoint_config_request(config, config_name=name, model_name=name, commit=commit)
        for exists in (False, True):
            endpoint_request(config, config_name=name, commit=commit, exists=exists)


def model_artifact_url(output_s3_uri: str, training_job_name: str) -> str:
    """Where SageMaker puts the model of a training job."""
    return f"{output_s3_uri.rstrip('/')}/{training_job_name}/output/model.tar.gz"
