"""The test doubles of the loop: what AWS runs that moto only records (see docs/architecture.md).

- :class:`LambdaRuntime` stands in for Lambda running the deployed functions: it unpacks the
  package the stack deployed (from the bucket, checked against the function's ``CodeSha256``) and
  runs the function's ``Handler`` in a fresh interpreter whose ``sys.path`` is that folder and the
  Lambda runtime's own libraries (boto3 and its dependencies) only, with the function's
  environment variables and its role's credentials. :meth:`LambdaRuntime.invoke_async` plays
  Lambda's asynchronous invocation (how EventBridge invokes functions): on an error it retries
  as the function's event invoke config says, then sends Lambda's on-failure record to the
  configured destination with the function's role, as Lambda does.
- :class:`JobExecutor` stands in for SageMaker running the jobs: each job moto recorded is run,
  with exactly its request, by the code ``kedro sagemaker ... --local`` uses (the real image,
  channels downloaded from moto's S3, outputs and ``model.tar.gz`` uploaded), with the SageMaker
  execution role's credentials and metrics published from inside the containers; the end state
  is written back to moto's record.
- :class:`Endpoint` stands in for a SageMaker endpoint: the model of the endpoint's current
  config is served by the code ``kedro sagemaker deploy --local`` uses (the real image, the
  ``model.tar.gz`` from moto's S3, the model's execution role); :meth:`Endpoint.invoke` is
  InvokeEndpoint (body, ``Content-Type``, ``Accept``, ``InferenceId``), and the endpoint's data
  capture is played as the endpoint config's ``DataCaptureConfig`` says (sampling percentage,
  capture modes, ``CaptureContentTypeHeader``, KMS key): each exchange is written as SageMaker's
  record (``ml_on_aws.core.data_capture.capture_record``), JSON Lines under
  ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``, with the model's execution role,
  when :meth:`Endpoint.flush` is called (SageMaker buffers and writes files every few minutes).
- :class:`AlarmEvaluator` stands in for CloudWatch evaluating the stack's alarms: it reads each
  alarm, computes its statistic with ``get_metric_data``, sets the state, and builds the
  ``CloudWatch Alarm State Change`` event CloudWatch sends to EventBridge.
- :func:`matches` stands in for EventBridge matching that event against a rule's pattern
  (moto's ``TestEventPattern`` is not implemented): it is the matcher moto's EventBridge routes
  events with.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .emulator import ACCOUNT, REGION, Credentials, Moto

Echo = Callable[[str], None]
# What the Lambda Python runtime provides besides the standard library.
LAMBDA_RUNTIME_LIBRARIES = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six.py")
_RUNNER = """\
import importlib, json, sys, traceback
sys.path[:0] = [sys.argv[1], sys.argv[2]]
module, _, function = sys.argv[3].rpartition(".")
event = json.loads(sys.stdin.read())
try:
    result = getattr(importlib.import_module(module), function)(event, None)
    print("AWS_LOOP_RESULT " + json.dumps({"ok": True, "result": result}, default=str))
except Exception as exc:
    print("AWS_LOOP_RESULT " + json.dumps({"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc),
                                           "stackTrace": traceback.format_tb(exc.__traceback__)}))
"""


class LambdaRuntime:
    """Runs the deployed functions from their package alone (see the module doc)."""

    def __init__(self, moto: Moto, admin: Credentials, workdir: Path) -> None:
        self.moto, self.admin, self.workdir = moto, admin, workdir
        self.runtime = workdir / "lambda-runtime"
        if not self.runtime.exists():
            self.runtime.mkdir(parents=True)
            site = Path(__import__("boto3").__file__).parents[1]
            for name in LAMBDA_RUNTIME_LIBRARIES:
                (self.runtime / name).symlink_to(site / name)

    def code_folder(self, function: dict[str, Any], bucket: str, key: str) -> Path:
        """The function's package, from the bucket, unpacked; its hash must be the function's."""
        package = self.admin.client("s3", self.moto.endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()
        digest = base64.b64encode(hashlib.sha256(package).digest()).decode()
        if digest != function["CodeSha256"]:
            raise RuntimeError(f"s3://{bucket}/{key} is not the code of {function['FunctionName']} "
                               f"({digest} vs CodeSha256 {function['CodeSha256']})")
        folder = self.workdir / f"lambda-task-{digest[:12].replace('/', '_')}"
        if not folder.exists():
            zipfile.ZipFile(io.BytesIO(package)).extractall(folder)
        return folder

    def invoke(self, name: str, event: dict[str, Any], code: Path) -> dict[str, Any]:
        """One synchronous run of the function ``name`` on ``event``: ``{"ok": ..., ...}``."""
        function = self.moto.lambda_read(self.admin, "get_function", FunctionName=name)["Configuration"]
        credentials = self.moto.as_service(self.admin, function["Role"], "lambda.amazonaws.com", name)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            **function.get("Environment", {}).get("Variables", {}),
            **credentials.environment(),
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.moto.endpoint,
            "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        }
        result = subprocess.run([sys.executable, "-I", "-S", "-c", _RUNNER, str(code), str(self.runtime), function["Handler"]],
                                input=json.dumps(event), env=env, capture_output=True, text=True, timeout=function["Timeout"] + 30)
        lines = [line for line in result.stdout.splitlines() if line.startswith("AWS_LOOP_RESULT ")]
        if not lines:
            return {"ok": False, "errorType": "Runtime.ExitError", "errorMessage": result.stderr[-2000:], "stackTrace": []}
        outcome = json.loads(lines[-1].split(" ", 1)[1])
        outcome["logs"] = result.stderr
        outcome["role"] = credentials.arn
        return outcome

    def invoke_async(self, name: str, event: dict[str, Any], code: Path, echo: Echo) -> dict[str, Any]:
        """Lambda's asynchronous invocation: retries, then the on-failure destination."""
        config = self.moto.lambda_read(self.admin, "get_function_event_invoke_config", FunctionName=name)
        attempts = 1 + int(config.get("MaximumRetryAttempts", 2))
        for attempt in range(1, attempts + 1):
            outcome = self.invoke(name, event, code)
            if outcome["ok"]:
                return {**outcome, "attempts": attempt}
            echo(f"  .. {name} attempt {attempt}/{attempts}: {outcome['errorType']}: {outcome['errorMessage'][:160]}")
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if not destination:
            return {**outcome, "attempts": attempts, "destination": None}
        function = self.moto.lambda_read(self.admin, "get_function", FunctionName=name)["Configuration"]
        record = {  # https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": f"{function['FunctionArn']}:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": attempts},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {k: outcome[k] for k in ("errorMessage", "errorType", "stackTrace")},
        }
        # Lambda sends the record with the function's execution role.
        role = self.moto.as_service(self.admin, function["Role"], "lambda.amazonaws.com", f"{name}-destination")
        sqs = role.client("sqs", self.moto.endpoint)
        # Lambda sends to the destination by its ARN (no GetQueueUrl, which the role need not have).
        _, _, _, _, owner, queue = destination.split(":")
        url = f"{self.moto.endpoint}/{owner}/{queue}"
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
        return {**outcome, "attempts": attempts, "destination": destination, "queue_url": url}


class JobExecutor:
    """Runs the SageMaker jobs moto recorded (see the module doc)."""

    def __init__(self, moto: Moto, admin: Credentials, echo: Echo, images: Callable[[str], None], workdir: Path) -> None:
        self.moto, self.admin, self.echo, self.images, self.workdir = moto, admin, echo, images, workdir
        self.sagemaker = admin.client("sagemaker", moto.endpoint)
        self.done: set[str] = set()

    def pending(self) -> list[tuple[str, str]]:
        """(kind, name) of every job moto holds that this executor has not run, oldest first."""
        found = []
        for job in self.sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]:
            found.append((job["CreationTime"], "training", job["TrainingJobName"]))
        for job in self.sagemaker.list_processing_jobs(MaxResults=100)["ProcessingJobSummaries"]:
            found.append((job["CreationTime"], "processing", job["ProcessingJobName"]))
        return [(kind, name) for _, kind, name in sorted(found) if name not in self.done]

    def run(self, kind: str, name: str) -> dict[str, Any]:
        from ml_on_aws.control.local.runner import LocalRunner

        operation, request = self.moto.recorder.get(name)
        described = (self.sagemaker.describe_training_job(TrainingJobName=name) if kind == "training"
                     else self.sagemaker.describe_processing_job(ProcessingJobName=name))
        _check_same(request, described)
        image = request["AlgorithmSpecification"]["TrainingImage"] if kind == "training" else request["AppSpecification"]["ImageUri"]
        self.images(image)
        role = self.moto.as_service(self.admin, request["RoleArn"], "sagemaker.amazonaws.com", name[:64])
        environment = {
            **role.environment(), "AWS_ENDPOINT_URL": self.moto.endpoint, "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION, "ML_ON_AWS_PUBLISH_METRICS": "true",
        }
        heartbeat = _Heartbeat(self.echo, name, self.workdir / f"{name}.log")
        runner = LocalRunner(role.client("s3", self.moto.endpoint), heartbeat,
                             docker_options=["--network=host"], environment=environment)
        started = time.monotonic()
        description = runner.run(operation, request)
        self.moto.set_job_result(kind, name, description)
        self.done.add(name)
        description["seconds"] = round(time.monotonic() - started)
        description["role"] = role.arn
        return description


class Endpoint:
    """A SageMaker endpoint with its data capture (see the module doc)."""

    def __init__(self, moto: Moto, admin: Credentials, name: str, images: Callable[[str], None], port: int) -> None:
        from ml_on_aws.control.local.runner import LocalRunner

        sagemaker = admin.client("sagemaker", moto.endpoint)
        self.name = name
        self.description = sagemaker.describe_endpoint(EndpointName=name)
        self.config = sagemaker.describe_endpoint_config(EndpointConfigName=self.description["EndpointConfigName"])
        variant = self.config["ProductionVariants"][0]
        self.variant = variant["VariantName"]
        self.model = sagemaker.describe_model(ModelName=variant["ModelName"])
        images(self.model["PrimaryContainer"]["Image"])
        # The endpoint's instances, and its data capture, act with the model's execution role.
        role = moto.as_service(admin, self.model["ExecutionRoleArn"], "sagemaker.amazonaws.com", f"{name}-endpoint")
        self.s3 = role.client("s3", moto.endpoint)
        self.runner = LocalRunner(self.s3, lambda line: None, docker_options=["--network=host"], port=port,
                                  environment={**role.environment(), "AWS_ENDPOINT_URL": moto.endpoint})
        self.url = f"http://127.0.0.1:{port}"
        capture = self.config.get("DataCaptureConfig") or {}
        self.capture = capture if capture.get("EnableCapture", bool(capture)) else None
        self._check_content_types()
        self._sampler = random.Random(0)
        self.captured: list[tuple[datetime, dict[str, Any]]] = []

    @property
    def container(self) -> str:
        return self.model["ModelName"]

    def _check_content_types(self) -> None:
        """The records are written by ``capture_record``, which knows SageMaker's default text types."""
        from ml_on_aws.core.data_capture import CSV_CONTENT_TYPES, JSON_CONTENT_TYPES

        header = (self.capture or {}).get("CaptureContentTypeHeader")
        if header and (tuple(header.get("CsvContentTypes", [])), tuple(header.get("JsonContentTypes", []))) != (
                CSV_CONTENT_TYPES, JSON_CONTENT_TYPES):
            raise NotImplementedError(f"the endpoint double captures the default content types only, not {header}")

    def start(self) -> bool:
        """The endpoint's instance: the image serving the model, until /ping answers."""
        self.stop()
        return self.runner.serve({"ModelName": self.container, "PrimaryContainer": self.model["PrimaryContainer"]}, wait=True)

    def stop(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.container], capture_output=True)

    def invoke(self, body: bytes, content_type: str, accept: str | None = None,
               inference_id: str | None = None) -> tuple[int, str, bytes]:
        """InvokeEndpoint: (status, content type, body) of the model's answer; captured as configured."""
        headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
        call = urllib.request.Request(f"{self.url}/invocations", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(call, timeout=60) as response:
                status, answer_type, answer = response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            status, answer_type, answer = error.code, error.headers.get("Content-Type", ""), error.read()
        if self.capture and self._sampler.random() * 100 < self.capture["InitialSamplingPercentage"]:
            self._record(body, content_type, answer, answer_type, inference_id)
        return status, answer_type, answer

    def _record(self, body: bytes, content_type: str, answer: bytes, answer_type: str, inference_id: str | None) -> None:
        from ml_on_aws.core.data_capture import capture_record

        assert self.capture is not None
        now = datetime.now(UTC)
        record = capture_record(request=body, request_content_type=content_type, response=answer,
                                response_content_type=answer_type, inference_time=now, event_id=str(uuid.uuid4()),
                                inference_id=inference_id, base64_only="CaptureContentTypeHeader" not in self.capture)
        modes = {option["CaptureMode"] for option in self.capture["CaptureOptions"]}
        for mode, key in (("Input", "endpointInput"), ("Output", "endpointOutput")):
            if mode not in modes:
                del record["captureData"][key]
        self.captured.append((now, record))

    def flush(self) -> list[str]:
        """Write the captured records as SageMaker does: one JSON Lines file per hour folder. The keys."""
        assert self.capture is not None
        bucket, _, prefix = self.capture["DestinationS3Uri"].removeprefix("s3://").partition("/")
        files: dict[str, list[str]] = {}
        for moment, record in self.captured:
            folder = f"{prefix.rstrip('/')}/{self.name}/{self.variant}/{moment:%Y/%m/%d/%H}"
            if folder not in files:  # named after its first record's time and a random id
                files[folder] = [f"{folder}/{moment:%M-%S}-{moment.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"]
            files[folder].append(json.dumps(record, separators=(",", ":")))
        encryption = ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.capture["KmsKeyId"]}
                      if self.capture.get("KmsKeyId") else {})
        keys = []
        for key, *lines in files.values():
            self.s3.put_object(Bucket=bucket, Key=key, Body="".join(line + "\n" for line in lines).encode(), **encryption)
            keys.append(f"s3://{bucket}/{key}")
        self.captured = []
        return keys


class _Heartbeat:
    """The runner's output, shown as one progress line at most every 15 s (the whole in ``log``)."""

    def __init__(self, echo: Echo, name: str, log: Path) -> None:
        self.echo, self.name, self.last, self.log = echo, name, 0.0, log

    def __call__(self, line: str) -> None:
        with self.log.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        if line.startswith("Uploaded") or time.monotonic() - self.last > 15:
            self.last = time.monotonic()
            self.echo(f"  .. {self.name}: {line[:150]}")


def _check_same(request: dict[str, Any], described: dict[str, Any]) -> None:
    """What moto's describe_* keeps of the job must be the recorded request."""
    for key in ("RoleArn", "AlgorithmSpecification", "InputDataConfig", "OutputDataConfig", "HyperParameters",
                "ProcessingInputs", "ProcessingOutputConfig", "AppSpecification"):
        if key in described and key in request:
            kept = {k: v for k, v in described[key].items()} if isinstance(described[key], dict) else described[key]
            if key in ("RoleArn", "HyperParameters") and kept != request[key]:
                raise RuntimeError(f"moto describes {key}={kept!r}, the request had {request[key]!r}")


class AlarmEvaluator:
    """CloudWatch's alarm evaluation for the stack's alarms (see the module doc)."""

    def __init__(self, cloudwatch: Any) -> None:
        self.cloudwatch = cloudwatch

    def evaluate(self, alarm: dict[str, Any], now: datetime | None = None) -> tuple[str, str, list[float]]:
        """(state, reason, values) of ``alarm`` (a describe_alarms entry) over its evaluation periods."""
        now = now or datetime.now(UTC)
        period, periods = alarm["Period"], alarm["EvaluationPeriods"]
        result = self.cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "m", "ReturnData": True, "MetricStat": {
                "Period": period, "Stat": alarm["Statistic"],
                "Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                           "Dimensions": alarm.get("Dimensions", [])}}}],
            StartTime=now - timedelta(seconds=period * periods), EndTime=now + timedelta(minutes=1))
        values = result["MetricDataResults"][0]["Values"][:periods]
        threshold = alarm["Threshold"]
        compare = {
            "LessThanThreshold": lambda v: v < threshold, "LessThanOrEqualToThreshold": lambda v: v <= threshold,
            "GreaterThanThreshold": lambda v: v > threshold, "GreaterThanOrEqualToThreshold": lambda v: v >= threshold,
        }[alarm["ComparisonOperator"]]
        missing = periods - len(values)
        treat = alarm.get("TreatMissingData", "missing")
        breaching = sum(compare(v) for v in values) + (missing if treat == "breaching" else 0)
        needed = alarm.get("DatapointsToAlarm") or periods
        if alarm["Statistic"] == "SampleCount" and not values and treat == "breaching":
            breaching = periods
        if breaching >= needed:
            state = "ALARM"
        elif not values and treat == "missing":
            state = "INSUFFICIENT_DATA"
        else:
            state = "OK"
        shown = ", ".join(f"{v:g}" for v in values) or "no datapoints"
        reason = (f"Threshold Crossed: {alarm['Statistic']} of {alarm['MetricName']} over {periods} period(s) of {period} s: "
                  f"[{shown}] {alarm['ComparisonOperator']} {threshold:g} (TreatMissingData {treat})")
        return state, reason, values

    def set_state(self, alarm: dict[str, Any], state: str, reason: str) -> dict[str, Any] | None:
        """Set the state; the "CloudWatch Alarm State Change" event when it changed, else None."""
        previous = alarm.get("StateValue", "INSUFFICIENT_DATA")
        self.cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=state, StateReason=reason)
        if state == previous:
            return None
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
        return {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch", "account": ACCOUNT, "time": now[:19] + "Z", "region": REGION,
            "resources": [alarm["AlarmArn"]],
            "detail": {
                "alarmName": alarm["AlarmName"],
                "state": {"value": state, "reason": reason, "timestamp": now},
                "previousState": {"value": previous, "reason": alarm.get("StateReason", ""),
                                  "timestamp": str(alarm.get("StateUpdatedTimestamp", ""))},
                "configuration": {"metrics": [{"id": "m", "metricStat": {
                    "metric": {"namespace": alarm["Namespace"], "name": alarm["MetricName"],
                               "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}},
                    "period": alarm["Period"], "stat": alarm["Statistic"]}, "returnData": True}]},
            },
        }


def matches(pattern: str, event: dict[str, Any]) -> bool:
    """Whether EventBridge would route ``event`` to a rule with ``pattern`` (moto's matcher)."""
    from moto.events.models import EventPattern

    return EventPattern.load(pattern).matches_event(event)
