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
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, TypeVar

from ml_on_aws.config import ConfigurationError
from ml_on_aws.sagemaker.config import (
    EndpointConfig,
    ProcessingJobConfig,
    SageMakerConfig,
    TransformJobConfig,
)

Section = TypeVar("Section")

MAX_NAME_LENGTH = 63
PROCESSING_INPUT_ROOT = "/opt/ml/processing/input"
PROCESSING_OUTPUT_ROOT = "/opt/ml/processing/output"
# Tag keys that make every resource traceable to the code that made it.
TAG_COMMIT = "ml-on-aws:git-commit"
TAG_JOB = "ml-on-aws:job"


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
    return {
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
        **_if("Environment", dict(config.environment)),
        "Tags": tags(config, commit, "train"),
    }


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
    return {
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
        **_if("Environment", dict(config.environment)),
        "Tags": tags(config, commit, f"process-{pipeline}"),
    }


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
    return {
        "ModelName": model_name,
        "ExecutionRoleArn": config.role_arn,
        "PrimaryContainer": {
            "Image": image_uri,
            "ModelDataUrl": model_data_url,
            **_if("Environment", dict(config.environment)),
        },
        "EnableNetworkIsolation": config.network_isolation,
        **_vpc(config),
        "Tags": tags(config, commit, "model"),
    }


def transform_job_request(
    config: SageMakerConfig, *, job_name: str, model_name: str, commit: str
) -> dict[str, Any]:
    """Keyword arguments of ``create_transform_job`` scoring ``transform.input_s3_uri``."""
    transform: TransformJobConfig = _required(config.transform, "transform")
    return {
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
        **_if("Environment", dict(config.environment)),
        "Tags": tags(config, commit, "transform"),
    }


def endpoint_config_request(
    config: SageMakerConfig, *, config_name: str, model_name: str, commit: str
) -> dict[str, Any]:
    """Keyword arguments of ``create_endpoint_config``: one variant serving ``model_name``."""
    endpoint: EndpointConfig = _required(config.endpoint, "endpoint")
    return {
        "EndpointConfigName": config_name,
        "ProductionVariants": [
            {
                "VariantName": endpoint.variant_name,
                "ModelName": model_name,
                "InitialInstanceCount": endpoint.instance_count,
                "InstanceType": endpoint.instance_type,
            }
        ],
        **_if("KmsKeyId", config.kms.volume_key_id),
        "Tags": tags(config, commit, "endpoint"),
    }


def endpoint_request(config: SageMakerConfig, *, config_name: str, commit: str, exists: bool) -> dict[str, Any]:
    """Keyword arguments of ``create_endpoint``, or of ``update_endpoint`` when it ``exists``
    (the endpoint switches to the new configuration without downtime)."""
    endpoint: EndpointConfig = _required(config.endpoint, "endpoint")
    request = {"EndpointName": endpoint.name, "EndpointConfigName": config_name}
    return request if exists else {**request, "Tags": tags(config, commit, "endpoint")}


def model_artifact_url(output_s3_uri: str, training_job_name: str) -> str:
    """Where SageMaker puts the model of a training job."""
    return f"{output_s3_uri.rstrip('/')}/{training_job_name}/output/model.tar.gz"


def _required(section: Section | None, key: str) -> Section:
    if section is None:
        raise ConfigurationError(f"SageMaker configuration has no '{key}' section; add it to sagemaker.yml.")
    return section
