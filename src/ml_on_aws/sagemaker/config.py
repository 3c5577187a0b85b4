"""Typed view of ``conf/<env>/sagemaker.yml``: everything a SageMaker job needs, checked up front.

The launcher parses the file with :func:`load` before it creates a single AWS client, so a
missing role, an instance type SageMaker does not offer or an S3 location in another form
fails with the key that is wrong instead of a ``ValidationException`` minutes later.
Instance types are checked against the enumerations of botocore's SageMaker service model
(one list per kind of job), so the list follows the installed botocore, not a copy of it.
Limits SageMaker checks only at call time (run times, the transform payload, a volume KMS key on
instances with local storage) are refused here too; those of the final requests (tags,
environment, hyperparameters, image URI) by :func:`.requests.checked`, which every builder runs.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ml_on_aws.core.config import ConfigurationError, problems, project_config_loader

Parsed = TypeVar("Parsed", bound=BaseModel)
Section = TypeVar("Section")

# The file (without extension) that holds this configuration in every environment.
CONFIG_NAME = "sagemaker"

_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)(?:/(?P<key>.*))?$")
# S3 bucket naming rules (lower case, digits, dots and hyphens, 3 to 63 characters).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# botocore's RoleArn pattern, anchored.
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


# Limits SageMaker checks only when a request arrives (botocore checks no maximums); the
# SageMaker API Reference of each field is cited.
# StoppingCondition.MaxRuntimeInSeconds of a training job: "The default value is 1 day. The
# maximum value is 28 days." (API_StoppingCondition.html).
TRAINING_MAX_RUNTIME_SECONDS = 28 * 86_400
# ProcessingStoppingCondition.MaxRuntimeInSeconds: "Maximum value of 777600" (9 days)
# (API_ProcessingStoppingCondition.html).
PROCESSING_MAX_RUNTIME_SECONDS = 777_600
# CreateTransformJob.MaxPayloadInMB: "The value of MaxPayloadInMB cannot be greater than 100 MB.
# If you specify the MaxConcurrentTransforms parameter, the value of (MaxConcurrentTransforms *
# MaxPayloadInMB) also cannot exceed 100 MB." (API_CreateTransformJob.html).
TRANSFORM_MAX_PAYLOAD_MB = 100

# EC2 marks instance storage with a `d` among the capability letters after the generation
# (m5d, c6gd, r7gd, g4dn, p3dn, p4d, p4de). These families have NVMe instance storage without the
# letter (EC2 "Instance store volume limits" list; SageMaker's ResourceConfig reference names
# ml.p4d, ml.g4dn and ml.g5 as families with NVMe instance storage).
_STORAGE_WITHOUT_D = frozenset({
    "dl1", "g5", "g6", "g6e", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200", "trn1", "trn1n", "trn2",
})
_FAMILY = re.compile(r"^ml\.(?P<family>[a-z]+\d+(?P<capabilities>[a-z]*)(?:-[a-z0-9]+)*)\.")


def has_instance_storage(instance_type: str) -> bool:
    """Whether the instances of ``instance_type`` have local (NVMe) instance storage, which they
    encrypt themselves: SageMaker refuses a VolumeKmsKeyId (or an endpoint config's KmsKeyId)
    for them ("You can't request a VolumeKmsKeyId when using an instance type with local
    storage", API_ResourceConfig.html, API_ProcessingClusterConfig.html,
    API_TransformResources.html, API_CreateEndpointConfig.html)."""
    match = _FAMILY.match(instance_type)
    return bool(match) and ("d" in match["capabilities"] or match["family"] in _STORAGE_WITHOUT_D)


def _s3_uri(value: str) -> str:
    match = _S3_URI.match(value)
    if not match:
        raise ValueError(f"must be an S3 location of the form s3://bucket/prefix, got {value!r}")
    bucket = match["bucket"]
    if not _BUCKET.match(bucket):
        hint = " (is the bucket's environment variable set?)" if bucket in {"None", "null", ""} else ""
        raise ValueError(f"{bucket!r} is not a valid S3 bucket name{hint}")
    return value


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.match(value):
        raise ValueError(f"must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got {value!r}")
    return value


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError(f"must be an AWS region such as eu-west-1, got {value!r}")
    return value


def _refuse(model: str, key: tuple[str, ...], value: Any, message: str) -> ValidationError:
    """A validation error of ``key`` (a path below the model being validated) from a model
    validator, so that the message names that key and not the whole section."""
    error = InitErrorDetails(type=PydanticCustomError("sagemaker_limit", message), loc=key, input=value)
    return ValidationError.from_exception_data(model, [error])


S3Uri = Annotated[str, AfterValidator(_s3_uri)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]
Region = Annotated[str, AfterValidator(_region)]


@cache
def instance_types(kind: str) -> frozenset[str]:
    """The ``ml.*`` instance types SageMaker accepts for ``kind`` (``Training``, ``Processing``,
    ``Transform`` or ``ProductionVariant``), read from botocore's service model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for(f"{kind}InstanceType").enum)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Resources(_Strict):
    """Instances that run one job."""

    # Which botocore enumeration lists the valid instance types for this kind of job.
    instance_kind: ClassVar[str] = "Training"

    instance_type: str
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    # StoppingCondition.MaxRuntimeInSeconds: training at most 28 days (above).
    max_runtime_seconds: int = Field(default=86_400, ge=1, le=TRAINING_MAX_RUNTIME_SECONDS)

    @field_validator("instance_type")
    @classmethod
    def _known_instance_type(cls, value: str) -> str:
        known = instance_types(cls.instance_kind)
        if value not in known:
            families = sorted({t.rsplit(".", 1)[0] for t in known})
            raise ValueError(
                f"{value!r} is not a SageMaker {cls.instance_kind} instance type "
                f"(known families: {', '.join(families[:10])}, ...)"
            )
        return value


class ImageConfig(_Strict):
    """Which image the jobs run, and how ``push-image`` builds and names it."""

    uri: str | None = Field(
        default=None,
        description="The full image URI. None: <registry>/<repository>:<tag> as push-image pushed it.",
    )
    repository: str = Field(default="ml-on-aws", pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")
    tag: str | None = Field(default=None, description="None: the git commit of the working tree.")
    moving_tag: str | None = Field(default=None, description="Also push this tag (e.g. latest). ECR repositories with immutable tags refuse it.")
    registry: str | None = Field(
        default=None, description="host[:port] of any OCI registry. None: the account's ECR registry."
    )
    use_ecr: bool = Field(default=True, description="Create the repository and log in through ECR's API.")
    build_options: list[str] = Field(default_factory=list, description="Extra `docker build` options, e.g. --network=host.")
    account_id: str | None = Field(default=None, pattern=r"^\d{12}$", description="ECR registry account; None: the role's account.")
    dockerfile: str = "Dockerfile"
    context: str = "."
    platform: str = "linux/amd64"
    scan_on_push: bool = True
    immutable_tags: bool = True


class MetricDefinition(_Strict):
    """A metric SageMaker reads from the job's log with a regular expression."""

    name: str = Field(min_length=1, max_length=255)
    regex: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_group(self) -> MetricDefinition:
        try:
            groups = re.compile(self.regex).groups
        except re.error as exc:
            raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        if groups != 1:
            raise ValueError(f"regex {self.regex!r} must capture the value in exactly one group")
        return self


def metric_definition(item: str | dict[str, Any]) -> dict[str, Any]:
    """A bare metric name means the ``name=value`` line the container prints for it."""
    if isinstance(item, str):
        return {"name": item, "regex": rf"\b{re.escape(item)}=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan)"}
    return item


# The input channels the training container reads (/opt/ml/input/data/<channel>), with what
# each holds; the container refuses any other (src/ml_on_aws/container/contract.py).
REQUIRED_CHANNELS = ("train",)
OPTIONAL_CHANNELS = ("test", "reference")
CHANNEL_CONTENTS = {
    "train": "the training table (CSV or Parquet, one file or several parts)",
    "test": "the test table, used instead of a split of `train` (CSV or Parquet, the columns of `train`)",
    "reference": "the reference_data.parquet of the model in production, for a drift report",
}


class TrainingChannel(_Strict):
    s3_uri: S3Uri
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"
    content_type: str | None = None


class TrainingJobConfig(_Resources):
    channels: dict[str, TrainingChannel] = Field(min_length=1)
    output_s3_uri: S3Uri
    hyperparameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    metric_definitions: list[MetricDefinition] = Field(default_factory=list, max_length=40)

    @field_validator("channels")
    @classmethod
    def _channels_the_container_reads(cls, channels: dict[str, TrainingChannel]) -> dict[str, TrainingChannel]:
        known = REQUIRED_CHANNELS + OPTIONAL_CHANNELS
        unknown = [name for name in channels if name not in known]
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; the training container reads: {', '.join(known)}")
        missing = [name for name in REQUIRED_CHANNELS if name not in channels]
        if missing:
            raise ValueError(f"channel '{missing[0]}' is required: {CHANNEL_CONTENTS[missing[0]]}")
        return channels

    @model_validator(mode="before")
    @classmethod
    def _expand_metric_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("metric_definitions"), list):
            data = {**data, "metric_definitions": [metric_definition(m) for m in data["metric_definitions"]]}
        return data


class ProcessingInput(_Strict):
    s3_uri: S3Uri
    local_path: str | None = Field(default=None, description="None: /opt/ml/processing/input/<name>.")
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"


class ProcessingOutput(_Strict):
    s3_uri: S3Uri
    local_path: str | None = Field(default=None, description="None: /opt/ml/processing/output/<name>.")


class ProcessingJobConfig(_Resources):
    instance_kind: ClassVar[str] = "Processing"

    # ProcessingStoppingCondition.MaxRuntimeInSeconds: at most 777,600 s (9 days).
    max_runtime_seconds: int = Field(default=86_400, ge=1, le=PROCESSING_MAX_RUNTIME_SECONDS)

    inputs: dict[str, ProcessingInput] = Field(default_factory=dict)
    outputs: dict[str, ProcessingOutput] = Field(default_factory=dict)
    arguments: list[str] = Field(default_factory=list, description="Appended after the pipeline name.")
    model_input: str | None = Field(
        default=None,
        description="Name of an extra input carrying the model.tar.gz to use (see `model`); None: no model.",
    )


class ProcessingConfig(_Strict):
    entrypoint: list[str] = Field(min_length=1, description="The container command; the pipeline name follows it.")
    pipelines: dict[str, ProcessingJobConfig] = Field(default_factory=dict)


class TransformJobConfig(_Resources):
    instance_kind: ClassVar[str] = "Transform"

    input_s3_uri: S3Uri
    output_s3_uri: S3Uri
    content_type: str = "text/csv"
    accept: str = "text/csv"
    split_type: Literal["None", "Line", "RecordIO", "TFRecord"] = "Line"
    batch_strategy: Literal["MultiRecord", "SingleRecord"] = "MultiRecord"
    max_payload_mb: int = Field(default=6, ge=0, le=TRANSFORM_MAX_PAYLOAD_MB)
    max_concurrent_transforms: int = Field(default=1, ge=0)
    # CSV with a header row: the first line of each file carries the column names.
    join_source: Literal["None", "Input"] = "None"

    @model_validator(mode="after")
    def _payload_times_concurrency(self) -> TransformJobConfig:
        # CreateTransformJob: MaxConcurrentTransforms x MaxPayloadInMB cannot exceed 100 MB.
        total = self.max_payload_mb * self.max_concurrent_transforms
        if total > TRANSFORM_MAX_PAYLOAD_MB:
            raise _refuse(
                "TransformJobConfig", ("max_concurrent_transforms",), self.max_concurrent_transforms,
                f"max_concurrent_transforms x max_payload_mb = {self.max_concurrent_transforms} x "
                f"{self.max_payload_mb} = {total} MB; SageMaker allows at most {TRANSFORM_MAX_PAYLOAD_MB} MB "
                "(CreateTransformJob MaxPayloadInMB)",
            )
        return self


class DataCapture(_Strict):
    """What the endpoint writes to S3 of the requests it serves (SageMaker's DataCaptureConfig):
    JSON Lines under ``<destination_s3_uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``, which the
    ``monitoring`` pipeline reads as the catalog entry ``captured_data``."""

    enabled: bool = False
    # Every request by default: the monitoring pipeline joins ground-truth labels to captured
    # requests by inferenceId, so each request left out is a label that cannot be scored, and a
    # tabular request and its response are a few hundred bytes (a million a day is about 0.5 GB).
    # Lower it for endpoints with heavy traffic.
    sampling_percentage: int = Field(default=100, ge=0, le=100)
    destination_s3_uri: S3Uri | None = Field(
        default=None, description="Where SageMaker writes the capture files; required when enabled."
    )
    capture_input: bool = True
    capture_output: bool = True
    # CaptureContentTypeHeader: which content types are captured as text (CSV, JSON) instead
    # of base64; at most 10 of each (botocore's CsvContentTypes / JsonContentTypes).
    csv_content_types: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=lambda: ["text/csv"], min_length=1, max_length=10)
    json_content_types: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=lambda: ["application/json"], min_length=1, max_length=10)
    kms_key_id: str | None = Field(
        default=None, pattern=r"^[a-zA-Z0-9:/_-]*$",
        description="KMS key of the capture files; None: kms.output_key_id (when set).",
    )

    @model_validator(mode="after")
    def _destination_and_something_to_capture(self) -> DataCapture:
        if not self.enabled:
            return self
        if self.destination_s3_uri is None:
            raise _refuse("DataCapture", ("destination_s3_uri",), None,
                          "is required when data capture is enabled (or set enabled: false)")
        if not (self.capture_input or self.capture_output):
            raise _refuse("DataCapture", ("capture_input",), False,
                          "capture_input and capture_output are both false: nothing to capture (set enabled: false instead)")
        return self


# A capacity of the blue/green traffic shifting: an instance count (1) or a share of the new
# fleet ("25%"), SageMaker's CapacitySize INSTANCE_COUNT or CAPACITY_PERCENT.
_PERCENT = re.compile(r"^(?P<value>\d{1,3})\s*%$")


def _capacity(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and (match := _PERCENT.match(value.strip())) and 1 <= int(match["value"]) <= 100:
        return f"{int(match['value'])}%"
    raise ValueError(f"must be an instance count (e.g. 1) or a share of the fleet (e.g. '25%'), got {value!r}")


Capacity = Annotated[int | str, PlainValidator(_capacity)]


def capacity_size(value: int | str) -> dict[str, Any]:
    """SageMaker's CapacitySize of a configured capacity."""
    if isinstance(value, str):
        return {"Type": "CAPACITY_PERCENT", "Value": int(value.rstrip("%"))}
    return {"Type": "INSTANCE_COUNT", "Value": value}


# Limits of TrafficRoutingConfig (API_TrafficRoutingConfig.html): "CanarySize ... must be less
# than or equal to 50% of the variant's total instance count", "LinearStepSize ... must be 10-50%".
CANARY_MAX_SHARE = 0.5
LINEAR_SHARES = (0.1, 0.5)


class RollbackAlarms(_Strict):
    """The CloudWatch alarms ``deploy`` creates for the endpoint (the names are fixed, see
    :mod:`.alarms`; infra/stack.yml creates the same ones when its EndpointName names it)."""

    create: bool = Field(default=True, description="false: the stack (or you) created them; deploy only checks they exist.")
    errors_threshold: int = Field(default=1, ge=1, description="Invocation5XXErrors per minute, 2 minutes running.")
    latency_threshold_us: int = Field(default=500_000, ge=1, description="Average ModelLatency (microseconds), 2 minutes running.")
    live_quality_metric: str = Field(default="live_roc_auc", pattern=r"^live_[A-Za-z0-9_]+$",
                                     description="A live_<metric> the monitoring pipeline publishes (higher is better).")
    live_quality_threshold: float = Field(default=0.7, description="The alarm fires below it.")
    live_quality_period_seconds: int = Field(default=3600, ge=60, le=86_400, multiple_of=60)


class Deployment(_Strict):
    """How ``deploy`` switches an existing endpoint to a new model (SageMaker's blue/green
    DeploymentConfig): the new fleet takes traffic in steps, each followed by a baking period;
    an alarm in ALARM during one sends all traffic back to the old fleet."""

    strategy: Literal["canary", "linear", "all_at_once"] = "canary"
    canary_size: Capacity = 1
    linear_step_size: Capacity = 1
    # WaitIntervalInSeconds, the baking period after each step: 0-3600. Ten minutes lets the
    # one-minute, two-datapoint alarms trip several times over.
    wait_interval_seconds: int = Field(default=600, ge=0, le=3600)
    # TerminationWaitInSeconds: the old fleet is kept this long after the switch, 0-3600.
    termination_wait_seconds: int = Field(default=0, ge=0, le=3600)
    # MaximumExecutionTimeoutInSeconds: 600-28800, larger than all the waits together.
    maximum_execution_timeout_seconds: int = Field(default=3600, ge=600, le=28_800)
    rollback_alarms: list[Annotated[str, Field(min_length=1, max_length=255)]] | None = Field(
        default=None, max_length=10,
        description="None: the endpoint's three alarms (.alarms.alarm_names); []: no automatic rollback.",
    )
    alarms: RollbackAlarms = RollbackAlarms()

    def baking_periods(self, instance_count: int) -> int:
        """How many times the deployment waits ``wait_interval_seconds``: after each traffic
        step, the last one (all traffic on the new fleet) included."""
        if self.strategy == "canary":
            return 2
        if self.strategy == "linear":
            step = self.linear_step_size
            share = int(step.rstrip("%")) / 100 if isinstance(step, str) else step / instance_count
            return math.ceil(1 / share)
        return 1


class EndpointConfig(_Resources):
    instance_kind: ClassVar[str] = "ProductionVariant"

    name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    variant_name: str = "AllTraffic"
    data_capture: DataCapture = DataCapture()
    deployment: Deployment = Deployment()

    @model_validator(mode="after")
    def _traffic_steps_fit_the_fleet(self) -> EndpointConfig:
        deployment, count = self.deployment, self.instance_count
        key, size, shares = {
            "canary": ("canary_size", deployment.canary_size, (0.0, CANARY_MAX_SHARE)),
            "linear": ("linear_step_size", deployment.linear_step_size, LINEAR_SHARES),
        }.get(deployment.strategy, (None, None, None))
        if key is not None:
            low, high = shares
            if count < 2:
                raise _refuse(
                    "EndpointConfig", ("deployment", "strategy"), deployment.strategy,
                    f"a {deployment.strategy} deployment needs endpoint.instance_count >= 2 (it is {count}): SageMaker "
                    f"shifts traffic to at most {high:.0%} of the new fleet per step; raise instance_count or "
                    "use strategy: all_at_once (blue/green with a baking period and rollback, in one step)",
                )
            share = int(size.rstrip("%")) / 100 if isinstance(size, str) else size / count
            if not low <= share <= high:
                raise _refuse(
                    "EndpointConfig", ("deployment", key), size,
                    (f"{size} of the new fleet" if isinstance(size, str) else f"{size} of {count} instances is {share:.0%}")
                    + "; SageMaker takes "
                    + (f"{low:.0%} to {high:.0%}" if low else f"at most {high:.0%}")
                    + " of the fleet (API_TrafficRoutingConfig)",
                )
        waits = deployment.baking_periods(count) * deployment.wait_interval_seconds + deployment.termination_wait_seconds
        if deployment.maximum_execution_timeout_seconds <= waits:
            raise _refuse(
                "EndpointConfig", ("deployment", "maximum_execution_timeout_seconds"),
                deployment.maximum_execution_timeout_seconds,
                f"must be larger than the waits of the deployment, {waits} s "
                f"({deployment.baking_periods(count)} x wait_interval_seconds + termination_wait_seconds), "
                "plus the time to start the new fleet (API_BlueGreenUpdatePolicy)",
            )
        return self


class ModelSource(_Strict):
    s3_uri: S3Uri | None = Field(
        default=None, description="model.tar.gz to deploy; None: the newest under training.output_s3_uri."
    )


class KmsConfig(_Strict):
    volume_key_id: str | None = None
    output_key_id: str | None = None


class VpcConfig(_Strict):
    subnets: list[str] = Field(min_length=1)
    security_group_ids: list[str] = Field(min_length=1)


class LocalConfig(_Strict):
    """How ``--local`` runs containers on this machine."""

    docker_options: list[str] = Field(default_factory=list, description="Extra `docker run` options, e.g. --network=host.")
    port: int = Field(default=8080, ge=1, le=65535, description="Host port of `deploy --local`.")
    workdir: str | None = Field(default=None, description="Keep each job's /opt/ml folders here; None: temporary.")


class SageMakerConfig(_Strict):
    """The whole ``sagemaker.yml``."""

    region: Region
    role_arn: RoleArn
    name_prefix: str = Field(default="ml-on-aws", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,30}$")
    image: ImageConfig = ImageConfig()
    training: TrainingJobConfig
    processing: ProcessingConfig
    transform: TransformJobConfig | None = None
    endpoint: EndpointConfig | None = None
    model: ModelSource = ModelSource()
    environment: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    network_isolation: bool = False
    kms: KmsConfig = KmsConfig()
    vpc: VpcConfig | None = None
    local: LocalConfig = LocalConfig()

    @model_validator(mode="after")
    def _no_volume_key_on_instance_storage(self) -> SageMakerConfig:
        """SageMaker refuses a volume KMS key for instances with local NVMe storage (encrypted by
        the instance's own hardware): training, processing and transform take it as
        VolumeKmsKeyId, the endpoint config as KmsKeyId."""
        if not self.kms.volume_key_id:
            return self
        used = {"training.instance_type": self.training.instance_type}
        used |= {f"processing.pipelines.{name}.instance_type": job.instance_type
                 for name, job in self.processing.pipelines.items()}
        for key, section in (("transform", self.transform), ("endpoint", self.endpoint)):
            if section is not None:
                used[f"{key}.instance_type"] = section.instance_type
        local = [f"{key} {value}" for key, value in used.items() if has_instance_storage(value)]
        if local:
            raise _refuse(
                "SageMakerConfig", ("kms", "volume_key_id"), self.kms.volume_key_id,
                f"SageMaker refuses a volume KMS key on instance types with local (NVMe) instance storage, "
                f"which the instance encrypts itself: {', '.join(local)}; choose instance types without "
                "instance storage or leave kms.volume_key_id unset",
            )
        return self


def required_section(section: Section | None, key: str) -> Section:
    """``section`` of the configuration, or an error saying to add it (transform, endpoint)."""
    if section is None:
        raise ConfigurationError(f"SageMaker configuration has no '{key}' section; add it to sagemaker.yml.")
    return section


def parse_config(raw: dict[str, Any], source: str = f"conf/<env>/{CONFIG_NAME}.yml") -> SageMakerConfig:
    """Validate the SageMaker configuration or raise :class:`ConfigurationError` naming every bad key."""
    return _validate(SageMakerConfig, raw, source)


def with_channels(config: SageMakerConfig, s3_uris: dict[str, str | None]) -> SageMakerConfig:
    """``config`` with the training channels given in ``s3_uris`` added or pointed at those S3
    locations (``kedro sagemaker train --test s3://...``); ``None`` values are left out."""
    given = {name: uri for name, uri in s3_uris.items() if uri is not None}
    if not given:
        return config
    raw = config.model_dump()
    channels = raw["training"]["channels"]
    for name, uri in given.items():
        channels[name] = {**channels.get(name, {}), "s3_uri": uri}
    return parse_config(raw, source="the command line (training channels)")


def _validate(model: type[Parsed], raw: dict[str, Any], source: str) -> Parsed:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        listed = "".join(f"\n  - {problem}" for problem in problems(exc))
        raise ConfigurationError(f"Invalid SageMaker configuration in {source}:{listed}") from None


def read(project_path: Path, env: str) -> dict[str, Any]:
    """``sagemaker*.yml`` of ``env`` merged over ``base`` by the project's config loader."""
    from kedro.framework.project import settings

    conf_source = project_path / settings.CONF_SOURCE
    try:
        return project_config_loader(project_path, env)[CONFIG_NAME]
    except KeyError:
        raise ConfigurationError(f"No {CONFIG_NAME}.yml in {conf_source}/base or {conf_source}/{env}.") from None
    except Exception as exc:  # OmegaConf interpolation errors name the key in their message.
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, ConfigurationError):
            cause = cause.__cause__ or cause.__context__
        reason = cause or exc
        raise ConfigurationError(f"Cannot read {_source(env)}: {reason}") from None


def load(project_path: Path, env: str) -> SageMakerConfig:
    """The validated configuration of ``env``."""
    return parse_config(read(project_path, env), source=_source(env))


class PushSettings(BaseModel):
    """The part of the file ``push-image`` reads: it needs no role nor S3 locations."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    region: Region | None = None
    image: ImageConfig = ImageConfig()


def load_push_settings(project_path: Path, env: str) -> PushSettings:
    return _validate(PushSettings, read(project_path, env), _source(env))


def _source(env: str) -> str:
    return f"conf/{{base,{env}}}/{CONFIG_NAME}.yml"
