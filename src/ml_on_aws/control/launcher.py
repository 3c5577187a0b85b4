"""Submit the project's SageMaker jobs with boto3, follow them, and report how they ended.

Every command builds its request with :mod:`.requests` from the validated configuration,
then either sends it to SageMaker or hands it to the local runner (:mod:`.local`), which
answers with the same ``describe_*`` shape. Following a job uses botocore's waiters for the
end states and prints status transitions and the job's CloudWatch log lines meanwhile.

``deploy`` on an existing endpoint is a blue/green update that SageMaker rolls back when a
rollback alarm fires: the launcher creates those alarms first (``alarms.create``), follows the
deployment's phases and reports a rollback, which leaves the endpoint InService on its old
configuration, as a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from ml_on_aws.aws.cloudwatch import CloudWatchConfig, dimensions
from ml_on_aws.control.image import pushed_image_uri
from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.core.git import git_commit
from ml_on_aws.sagemaker import alarms
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import SageMakerConfig, required_section
from ml_on_aws.sagemaker.models import newest_model

Echo = Callable[[str], None]

# Waits between tries of CreateEndpoint/UpdateEndpoint while a new endpoint config is not yet
# visible (about a minute in all).
CONFIG_RETRY_SECONDS: tuple[float, ...] = (1, 2, 4, 8, 16, 30)


@dataclass(frozen=True)
class JobKind:
    """How one kind of SageMaker resource is created, described, awaited and logged."""

    label: str
    create: str
    describe: str
    name_key: str
    status_key: str
    waiter: str
    log_group: str
    success: tuple[str, ...] = ("Completed",)
    # End states the waiter does not know: following stops there too.
    ends: tuple[str, ...] = ()

    def log_location(self, name: str) -> tuple[str, str]:
        """CloudWatch log group and stream prefix of the resource ``name``."""
        if self.label == "endpoint":
            return f"{self.log_group}/{name}", ""
        return self.log_group, f"{name}/"


TRAINING = JobKind(
    "training job", "create_training_job", "describe_training_job", "TrainingJobName",
    "TrainingJobStatus", "training_job_completed_or_stopped", "/aws/sagemaker/TrainingJobs",
)
PROCESSING = JobKind(
    "processing job", "create_processing_job", "describe_processing_job", "ProcessingJobName",
    "ProcessingJobStatus", "processing_job_completed_or_stopped", "/aws/sagemaker/ProcessingJobs",
)
TRANSFORM = JobKind(
    "transform job", "create_transform_job", "describe_transform_job", "TransformJobName",
    "TransformJobStatus", "transform_job_completed_or_stopped", "/aws/sagemaker/TransformJobs",
)
ENDPOINT = JobKind(
    "endpoint", "create_endpoint", "describe_endpoint", "EndpointName",
    "EndpointStatus", "endpoint_in_service", "/aws/sagemaker/Endpoints", success=("InService",),
    # botocore's endpoint_in_service waiter fails on Failed only; a rollback that failed ends too.
    ends=("UpdateRollbackFailed",),
)


def resolve_image_uri(config: SageMakerConfig, project_path: Path, commit: str) -> str:
    """``image.uri`` when set, else the image ``push-image`` pushed for this very commit."""
    if config.image.uri:
        return config.image.uri
    pushed = pushed_image_uri(project_path, commit)
    if pushed is None:
        raise ConfigurationError(
            f"image.uri: not set, and no image of commit {commit} has been pushed; "
            "run `kedro sagemaker push-image` first (or set image.uri / ML_ON_AWS_IMAGE_URI)."
        )
    return pushed


@dataclass
class LogTail:
    """Prints the CloudWatch log lines of a job that it has not printed yet."""

    logs: Any
    group: str
    stream_prefix: str
    start_ms: int = 0
    seen: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        request: dict[str, Any] = {"logGroupName": self.group, "startTime": self.start_ms, "interleaved": True}
        if self.stream_prefix:
            request["logStreamNamePrefix"] = self.stream_prefix
        new: list[str] = []
        try:
            for page in self.logs.get_paginator("filter_log_events").paginate(**request):
                for event in page.get("events", []):
                    if event["eventId"] in self.seen:
                        continue
                    self.seen.add(event["eventId"])
                    self.start_ms = max(self.start_ms, event["timestamp"])
                    new.append(f"[{event['logStreamName']}] {event['message'].rstrip()}")
        except ClientError as exc:
            # The log group appears only once the first instance starts.
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        return new


def follow(
    client: Any,
    kind: JobKind,
    name: str,
    echo: Echo,
    logs: Any = None,
    poll_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Wait for ``name`` to end with botocore's waiter for ``kind``, printing each new status
    (and secondary status) and new log lines; return the last ``describe_*`` response."""
    waiter = client.get_waiter(kind.waiter)
    tail = LogTail(logs, *kind.log_location(name)) if logs is not None else None
    shown: list[str] = []
    while True:
        try:
            waiter.wait(**{kind.name_key: name}, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
            finished = True
        except WaiterError as exc:
            finished = exc.kwargs.get("reason") != "Max attempts exceeded"
        description = getattr(client, kind.describe)(**{kind.name_key: name})
        finished = finished or description[kind.status_key] in kind.ends
        for status in _statuses(kind, description):
            if status not in shown:
                shown.append(status)
                echo(f"{name}: {status}")
        for line in tail.lines() if tail else []:
            echo(line)
        if finished:
            return description
        sleep(poll_seconds)


def _statuses(kind: JobKind, description: dict[str, Any]) -> list[str]:
    transitions = [
        f"{t['Status']}" + (f" ({t['StatusMessage']})" if t.get("StatusMessage") else "")
        for t in description.get("SecondaryStatusTransitions", [])
    ]
    return [*transitions, description[kind.status_key], *deployment_phases(description)]


def deployment_phases(description: dict[str, Any]) -> list[str]:
    """The phases of a blue/green update in a ``describe_endpoint`` response: each variant of the
    new (green) fleet in ``PendingDeploymentSummary`` with its status (Creating, ActivatingTraffic,
    Baking, ...), the status message, instances and traffic weight."""
    pending = description.get("PendingDeploymentSummary") or {}
    phases = []
    for variant in pending.get("ProductionVariants", []):
        fleet = f"new fleet {variant['VariantName']}"
        if variant.get("CurrentInstanceCount") is not None:
            fleet += f" ({variant['CurrentInstanceCount']}/{variant.get('DesiredInstanceCount', '?')} instances"
            fleet += f", weight {variant['CurrentWeight']:g})" if variant.get("CurrentWeight") is not None else ")"
        for status in variant.get("VariantStatus", []):
            message = f": {status['StatusMessage']}" if status.get("StatusMessage") else ""
            phases.append(f"{description['EndpointStatus']}, {fleet} {status['Status']}{message}")
    return phases


def update_outcome(description: dict[str, Any], config_name: str) -> tuple[bool, list[str]]:
    """Whether an endpoint update to ``config_name`` took effect, and the lines that say so.

    A rolled-back update (an alarm fired during a baking period, or the new fleet failed to start)
    leaves the endpoint InService on its previous configuration, with a FailureReason that may be
    empty (terraform-provider-aws issue 48997), so the configuration it serves is what tells."""
    name, status = description.get("EndpointName", ""), description["EndpointStatus"]
    serving = description.get("EndpointConfigName")
    reason = f": {description['FailureReason']}" if description.get("FailureReason") else ""
    if status == "InService" and serving != config_name:
        return False, [f"Rolled back: endpoint {name} still serves {serving}, not {config_name}{reason}"]
    if status == "UpdateRollbackFailed":
        return False, [f"Rollback failed: endpoint {name} is {status} (fix by hand, then deploy again){reason}"]
    return outcome(ENDPOINT, description)


def outcome(kind: JobKind, description: dict[str, Any]) -> tuple[bool, list[str]]:
    """Whether the job succeeded, and the lines that say how it ended: status, failure
    reason, final metrics and where its results are."""
    status = description[kind.status_key]
    name = description.get(kind.name_key, "")
    lines = [f"{kind.label} {name}: {status}"]
    if description.get("FailureReason"):
        lines.append(f"FailureReason: {description['FailureReason']}")
    for metric in description.get("FinalMetricDataList", []):
        lines.append(f"metric {metric['MetricName']} = {metric['Value']:g}")
    artifacts = description.get("ModelArtifacts", {}).get("S3ModelArtifacts")
    if artifacts and status in kind.success:
        lines.append(f"model: {artifacts}")
    for output in description.get("ProcessingOutputConfig", {}).get("Outputs", []):
        lines.append(f"output {output['OutputName']}: {output['S3Output']['S3Uri']}")
    if description.get("TransformOutput"):
        lines.append(f"output: {description['TransformOutput']['S3OutputPath']}")
    return status in kind.success, lines


class Launcher:
    """Runs the commands of ``kedro sagemaker`` on SageMaker, or locally with ``local=True``."""

    def __init__(
        self,
        config: SageMakerConfig,
        project_path: Path,
        echo: Echo,
        *,
        local: bool = False,
        session: Any = None,
        poll_seconds: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: CloudWatchConfig | None = None,
    ) -> None:
        import boto3

        self.config = config
        # Where the project's metrics are (cloudwatch.yml): the live-quality alarm watches one.
        self.metrics = metrics or CloudWatchConfig()
        self.project_path = project_path
        self.echo = echo
        self.local = local
        self.poll_seconds = poll_seconds
        self.clock = clock
        # Everything that can fail without AWS is decided before the first client exists.
        self.commit = git_commit(project_path)
        self.image_uri = resolve_image_uri(config, project_path, self.commit)
        rq.check_requests(config, image_uri=self.image_uri, commit=self.commit)
        self.session = session or boto3.Session(region_name=config.region)

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def _name(self, kind: str) -> str:
        return rq.job_name(self.config.name_prefix, kind, self.commit, self.clock())

    def _model_data_url(self) -> str:
        return self.config.model.s3_uri or newest_model(self.client("s3"), self.config.training.output_s3_uri)

    def train(self, wait: bool) -> bool:
        request = rq.training_job_request(
            self.config, image_uri=self.image_uri, job_name=self._name("train"), commit=self.commit
        )
        return self._run(TRAINING, request, wait)

    def process(self, pipeline: str, wait: bool) -> bool:
        job = rq.processing_job(self.config, pipeline)
        request = rq.processing_job_request(
            self.config,
            pipeline,
            image_uri=self.image_uri,
            job_name=self._name(pipeline),
            commit=self.commit,
            model_data_url=self._model_data_url() if job.model_input else None,
        )
        return self._run(PROCESSING, request, wait)

    def transform(self, wait: bool) -> bool:
        model = self._model_request(self._name("model"))
        request = rq.transform_job_request(
            self.config, job_name=self._name("transform"), model_name=model["ModelName"], commit=self.commit
        )
        if self.local:
            return self._finish(TRANSFORM, self._local_runner().transform(model, request))
        self._create_model(model)
        return self._run(TRANSFORM, request, wait)

    def deploy(self, wait: bool) -> bool:
        model = self._model_request(self._name("model"))
        if self.local:
            return self._local_runner().serve(model, wait=wait)
        endpoint_name = required_section(self.config.endpoint, "endpoint").name
        sagemaker = self.client("sagemaker")
        exists = self._endpoint_exists(sagemaker)
        # Before the update that names them: SageMaker watches alarms that exist.
        rollback_alarms = self._endpoint_alarms(update=exists)
        self._create_model(model)
        config_name = self._name("endpoint-config")
        endpoint_config = rq.endpoint_config_request(
            self.config, config_name=config_name, model_name=model["ModelName"], commit=self.commit
        )
        sagemaker.create_endpoint_config(**endpoint_config)
        self.echo(_capture_line(endpoint_config, endpoint_name))
        endpoint = rq.endpoint_request(self.config, config_name=config_name, commit=self.commit, exists=exists)
        if not exists:
            self._once_config_is_visible(sagemaker, sagemaker.create_endpoint, endpoint)
            self.echo(f"Creating endpoint {endpoint['EndpointName']} with {config_name}")
            return self._report(ENDPOINT, endpoint["EndpointName"], wait)
        self._once_config_is_visible(sagemaker, sagemaker.update_endpoint, endpoint)
        self.echo(f"Updating endpoint {endpoint['EndpointName']} to {config_name}: {_rollout_line(endpoint, rollback_alarms)}")
        if not wait:
            return self._report(ENDPOINT, endpoint["EndpointName"], wait)
        description = follow(sagemaker, ENDPOINT, endpoint["EndpointName"], self.echo, logs=self.client("logs"),
                             poll_seconds=self.poll_seconds)
        succeeded, lines = update_outcome(description, config_name)
        for line in lines:
            self.echo(line)
        return succeeded

    def _endpoint_alarms(self, *, update: bool) -> list[str]:
        """Create (or bring up to date) the endpoint's alarms when ``alarms.create``; before an
        update, make sure every rollback alarm exists. Returns the rollback alarm names."""
        assert self.config.endpoint is not None
        endpoint = self.config.endpoint
        cloudwatch = self.client("cloudwatch")
        if endpoint.deployment.alarms.create:
            requests = alarms.endpoint_alarm_requests(
                self.config, metric_namespace=self.metrics.namespace, metric_dimensions=dimensions(self.metrics)
            )
            for request in requests:
                cloudwatch.put_metric_alarm(**request)
            self.echo(f"Alarms of endpoint {endpoint.name}: {', '.join(r['AlarmName'] for r in requests)}")
        names = alarms.rollback_alarm_names(endpoint)
        if update and names:
            found = {a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]}
            missing = [name for name in names if name not in found]
            if missing:
                raise ConfigurationError(
                    f"endpoint.deployment.rollback_alarms: CloudWatch has no alarm {', '.join(missing)} in "
                    f"{self.session.region_name}; nothing was deployed. Deploy the stack with EndpointName="
                    f"{endpoint.name}, set endpoint.deployment.alarms.create: true, or list alarms that exist."
                )
        return names

    def _once_config_is_visible(self, sagemaker: Any, send: Callable[..., Any], request: dict[str, Any]) -> None:
        """Send ``request`` once its new endpoint config can be read.

        CreateEndpointConfig is eventually consistent: AWS's CreateEndpoint reference advises
        calling DescribeEndpointConfig first, and a CreateEndpoint right after it can still fail
        with a ValidationException that the config does not exist. Both are retried with backoff.
        """
        config_name = request["EndpointConfigName"]
        for attempt, delay in enumerate((*CONFIG_RETRY_SECONDS, None), start=1):
            try:
                sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
                send(**request)
                return
            except ClientError as exc:
                message = exc.response["Error"].get("Message", "")
                not_visible = exc.response["Error"]["Code"] == "ValidationException" and (
                    config_name in message or "endpoint config" in message.lower()
                )
                if not not_visible or delay is None:
                    raise
                self.echo(f"Endpoint config {config_name} is not visible yet (attempt {attempt}); retrying in {delay:g} s")
                time.sleep(delay)

    def _endpoint_exists(self, sagemaker: Any) -> bool:
        assert self.config.endpoint is not None
        try:
            sagemaker.describe_endpoint(EndpointName=self.config.endpoint.name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"ValidationException", "ResourceNotFound"}:
                return False
            raise
        return True

    def _model_request(self, model_name: str) -> dict[str, Any]:
        return rq.model_request(
            self.config,
            model_name=model_name,
            image_uri=self.image_uri,
            model_data_url=self._model_data_url(),
            commit=self.commit,
        )

    def _create_model(self, request: dict[str, Any]) -> None:
        self.client("sagemaker").create_model(**request)
        self.echo(f"Created model {request['ModelName']} from {request['PrimaryContainer']['ModelDataUrl']}")

    def _local_runner(self) -> Any:
        from ml_on_aws.control.local.runner import LocalRunner

        local = self.config.local
        return LocalRunner(
            self.client("s3"),
            self.echo,
            docker_options=local.docker_options,
            port=local.port,
            workdir=Path(local.workdir) if local.workdir else None,
        )

    def _run(self, kind: JobKind, request: dict[str, Any], wait: bool) -> bool:
        name = request[kind.name_key]
        if self.local:
            description = self._local_runner().run(kind.create, request)
            return self._finish(kind, description)
        getattr(self.client("sagemaker"), kind.create)(**request)
        self.echo(f"Submitted {kind.label} {name} (image {self.image_uri})")
        return self._report(kind, name, wait)

    def _report(self, kind: JobKind, name: str, wait: bool) -> bool:
        sagemaker = self.client("sagemaker")
        if not wait:
            status = getattr(sagemaker, kind.describe)(**{kind.name_key: name})[kind.status_key]
            self.echo(f"{kind.label} {name}: {status} (not waiting; add --wait to follow it)")
            return True
        description = follow(
            sagemaker, kind, name, self.echo, logs=self.client("logs"), poll_seconds=self.poll_seconds
        )
        return self._finish(kind, description)

    def _finish(self, kind: JobKind, description: dict[str, Any]) -> bool:
        succeeded, lines = outcome(kind, description)
        for line in lines:
            self.echo(line)
        return succeeded


def _capture_line(endpoint_config: dict[str, Any], endpoint_name: str) -> str:
    capture = endpoint_config.get("DataCaptureConfig")
    if not capture:
        return "Data capture: off (endpoint.data_capture.enabled)"
    modes = " and ".join({"Input": "requests", "Output": "responses"}[o["CaptureMode"]] for o in capture["CaptureOptions"])
    [variant] = endpoint_config["ProductionVariants"]
    return (f"Data capture: {capture['InitialSamplingPercentage']}% of {modes} to "
            f"{capture['DestinationS3Uri'].rstrip('/')}/{endpoint_name}/{variant['VariantName']}/yyyy/mm/dd/hh/")


def _rollout_line(request: dict[str, Any], rollback_alarms: list[str]) -> str:
    policy = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    routing = policy["TrafficRoutingConfiguration"]
    size = routing.get("CanarySize") or routing.get("LinearStepSize")
    step = ""
    if size:
        step = f" of {size['Value']}{'%' if size['Type'] == 'CAPACITY_PERCENT' else ' instance(s)'}"
    guard = f"rollback on {', '.join(rollback_alarms)}" if rollback_alarms else "no rollback alarms"
    return (f"blue/green, {routing['Type'].lower()}{step}, baking {routing['WaitIntervalInSeconds']} s after each step, "
            f"{guard}")
