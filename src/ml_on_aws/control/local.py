"""Run a SageMaker request on this machine with Docker, the way SageMaker would (``--local``).

The runner takes the very request :mod:`.requests` builds for SageMaker and:

- downloads each input through the S3 API into the layout SageMaker gives the container
  (training channels under ``/opt/ml/input/data/<channel>``, processing inputs at their
  ``LocalPath``), splitting ``ShardedByS3Key`` inputs across the instances;
- writes the configuration files SageMaker writes (``hyperparameters.json`` with string
  values, ``inputdataconfig.json``, ``resourceconfig.json``, ``processingjobconfig.json``);
- starts one container per instance (``docker run IMAGE train``, or the processing entry
  point and arguments), hosts named ``algo-1`` ... ``algo-N``;
- uploads ``/opt/ml/model`` as ``<output>/<job>/output/model.tar.gz`` and each processing
  output directory to its S3 prefix, only when every instance succeeded;
- answers with the fields of ``describe_*``: status, ``FailureReason`` (from
  ``/opt/ml/output/failure``, or ``message`` for processing, as SageMaker reads them),
  ``FinalMetricDataList`` from the metric regexes applied to the container logs.

``serve`` extracts a model.tar.gz into ``/opt/ml/model`` and runs the image's ``serve`` as
an endpoint instance would (port 8080: ``/ping`` and ``/invocations``); ``transform`` sends
each input object's records to it in batches, as batch transform does.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ml_on_aws.core.archives import extract_tar

Echo = Callable[[str], None]
CONTAINER_ML = PurePosixPath("/opt/ml")


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def list_objects(s3: Any, uri: str) -> list[tuple[str, str]]:
    """``(key, path relative to the prefix's folder)`` of every object under the S3 prefix
    ``uri``, sorted by key as SageMaker orders them. ``s3://b/data/part`` matches
    ``data/part-1.csv`` and ``data/part/x.csv``; both are placed relative to ``data/``."""
    bucket, prefix = split_s3_uri(uri)
    folder = prefix[: prefix.rfind("/") + 1]
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                found.append((item["Key"], item["Key"][len(folder):]))
    return sorted(found)


def shard(objects: list[Any], instance: int, instance_count: int, distribution: str) -> list[Any]:
    """The objects instance ``instance`` (0-based) receives: all of them (``FullyReplicated``)
    or every ``instance_count``-th one (``ShardedByS3Key``, as SageMaker splits by key)."""
    if distribution == "ShardedByS3Key":
        return objects[instance::instance_count]
    return list(objects)


def hosts(count: int) -> list[str]:
    return [f"algo-{i + 1}" for i in range(count)]


def resource_config(current_host: str, all_hosts: list[str], instance_type: str) -> dict[str, Any]:
    """``resourceconfig.json`` as SageMaker writes it for each instance."""
    return {
        "current_host": current_host,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": all_hosts,
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": all_hosts}
        ],
        "network_interface_name": "eth0",
    }


def input_data_config(request: dict[str, Any]) -> dict[str, Any]:
    """``inputdataconfig.json`` of a training request."""
    return {
        channel["ChannelName"]: {
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": channel["DataSource"]["S3DataSource"]["S3DataDistributionType"],
            "RecordWrapperType": "None",
            **({"ContentType": channel["ContentType"]} if channel.get("ContentType") else {}),
        }
        for channel in request["InputDataConfig"]
    }


def final_metrics(log_lines: list[str], definitions: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The last value each metric regex matched in the logs, as ``FinalMetricDataList``."""
    values: dict[str, float] = {}
    for line in log_lines:
        for definition in definitions:
            match = re.search(definition["Regex"], line)
            if match:
                try:
                    values[definition["Name"]] = float(match.group(1))
                except ValueError:
                    continue
    now = datetime.now(UTC)
    return [{"MetricName": name, "Value": value, "Timestamp": now} for name, value in values.items()]


@dataclass
class Instance:
    """One container of a job: its host name, host folder, mounts and command."""

    host: str
    container: str
    folder: Path
    mounts: dict[Path, PurePosixPath]
    environment: dict[str, str]
    arguments: list[str]
    entrypoint: str | None = None


class LocalRunner:
    """Runs training and processing requests, and serves models, with the local Docker engine."""

    def __init__(
        self,
        s3: Any,
        echo: Echo,
        *,
        docker_options: list[str] | None = None,
        workdir: Path | None = None,
        port: int = 8080,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.s3 = s3
        self.echo = echo
        self.docker_options = list(docker_options or [])
        self.workdir = workdir
        self.port = port
        # What SageMaker itself adds to a job's variables (the role's credentials, say) goes in
        # ``environment``. A local run is not the deployment: its jobs publish no CloudWatch
        # metrics (conf/sagemaker*/cloudwatch.yml) unless ``environment`` turns them on.
        self.environment = {"ML_ON_AWS_PUBLISH_METRICS": "false", **(environment or {})}

    # -- jobs ---------------------------------------------------------------------------

    def run(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """Run a ``create_training_job`` or ``create_processing_job`` request to the end."""
        runners = {"create_training_job": self.train, "create_processing_job": self.process}
        if operation not in runners:
            raise ValueError(f"--local runs training and processing jobs, not {operation}")
        return runners[operation](request)

    def train(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TrainingJobName"]
        with self._job_folder(name) as root:
            instances = self.stage_training(request, root)
            results = self._run_containers(
                request["AlgorithmSpecification"]["TrainingImage"], instances,
                request["StoppingCondition"]["MaxRuntimeInSeconds"], request.get("EnableNetworkIsolation", False),
            )
            description = {
                "TrainingJobName": name,
                "AlgorithmSpecification": request["AlgorithmSpecification"],
                "HyperParameters": request.get("HyperParameters", {}),
                "ResourceConfig": request["ResourceConfig"],
                "OutputDataConfig": request["OutputDataConfig"],
                "SecondaryStatusTransitions": [{"Status": "Downloading"}, {"Status": "Training"}],
                "FinalMetricDataList": final_metrics(
                    [line for result in results for line in result["logs"]],
                    request["AlgorithmSpecification"].get("MetricDefinitions", []),
                ),
            }
            failure = _failure(results, "failure")
            if failure:
                return {**description, "TrainingJobStatus": "Failed", "FailureReason": failure}
            # As SageMaker does, the model is the first host's /opt/ml/model.
            artifact = f"{request['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{name}/output/model.tar.gz"
            self._upload_tar(instances[0].folder / "model", artifact)
            self.echo(f"Uploaded {artifact}")
            return {**description, "TrainingJobStatus": "Completed", "ModelArtifacts": {"S3ModelArtifacts": artifact}}

    def stage_training(self, request: dict[str, Any], root: Path) -> list[Instance]:
        """Each instance's ``/opt/ml`` under ``root/<host>``: config files, channel data,
        empty model and output folders."""
        name = request["TrainingJobName"]
        resources = request["ResourceConfig"]
        all_hosts = hosts(resources["InstanceCount"])
        instances = []
        for index, host in enumerate(all_hosts):
            ml = root / host
            config = ml / "input" / "config"
            _write_json(config / "hyperparameters.json", request.get("HyperParameters", {}))
            _write_json(config / "inputdataconfig.json", input_data_config(request))
            _write_json(config / "resourceconfig.json", resource_config(host, all_hosts, resources["InstanceType"]))
            for channel in request["InputDataConfig"]:
                source = channel["DataSource"]["S3DataSource"]
                self._download(source["S3Uri"], source["S3DataDistributionType"], index, len(all_hosts),
                               ml / "input" / "data" / channel["ChannelName"])
            for folder in ("model", "output/data", "checkpoints"):
                _writable(ml / folder)
            instances.append(Instance(
                host=host,
                container=f"{name}-{host}",
                folder=ml,
                mounts={ml / part: CONTAINER_ML / part for part in ("input", "model", "output", "checkpoints")},
                environment={**request.get("Environment", {}), **self.environment, "TRAINING_JOB_NAME": name},
                arguments=["train"],
            ))
        return instances

    def process(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ProcessingJobName"]
        app = request["AppSpecification"]
        outputs = request.get("ProcessingOutputConfig", {}).get("Outputs", [])
        with self._job_folder(name) as root:
            instances = self.stage_processing(request, root)
            results = self._run_containers(
                app["ImageUri"], instances, request["StoppingCondition"]["MaxRuntimeInSeconds"],
                request.get("NetworkConfig", {}).get("EnableNetworkIsolation", False),
            )
            description = {
                "ProcessingJobName": name,
                "AppSpecification": app,
                "ProcessingInputs": request.get("ProcessingInputs", []),
                "ProcessingOutputConfig": request.get("ProcessingOutputConfig", {}),
                "ProcessingResources": request["ProcessingResources"],
            }
            exit_message = "".join(result["message"] for result in results)[:1024]
            if exit_message:
                description["ExitMessage"] = exit_message
            failure = _failure(results, "message")
            if failure:
                return {**description, "ProcessingJobStatus": "Failed", "FailureReason": failure}
            # Every instance uploads its output folders to the same prefixes.
            for instance in instances:
                for number, item in enumerate(outputs):
                    self._upload_folder(instance.folder / "outputs" / str(number), item["S3Output"]["S3Uri"])
            return {**description, "ProcessingJobStatus": "Completed"}

    def stage_processing(self, request: dict[str, Any], root: Path) -> list[Instance]:
        """Each instance's folders under ``root/<host>``: ``config`` (``/opt/ml/config``),
        ``inputs/<n>`` and ``outputs/<n>`` (mounted at their ``LocalPath``), ``output``."""
        all_hosts = hosts(request["ProcessingResources"]["ClusterConfig"]["InstanceCount"])
        app = request["AppSpecification"]
        entrypoint = list(app.get("ContainerEntrypoint") or [])
        instances = []
        for index, host in enumerate(all_hosts):
            base = root / host
            _write_json(base / "config" / "processingjobconfig.json", _processing_job_config(request))
            _write_json(base / "config" / "resourceconfig.json", {"current_host": host, "hosts": all_hosts})
            mounts = {base / "config": CONTAINER_ML / "config", _writable(base / "output"): CONTAINER_ML / "output"}
            for number, item in enumerate(request.get("ProcessingInputs", [])):
                source = item["S3Input"]
                local = base / "inputs" / str(number)
                self._download(source["S3Uri"], source["S3DataDistributionType"], index, len(all_hosts), local)
                mounts[local] = PurePosixPath(source["LocalPath"])
            for number, item in enumerate(request.get("ProcessingOutputConfig", {}).get("Outputs", [])):
                mounts[_writable(base / "outputs" / str(number))] = PurePosixPath(item["S3Output"]["LocalPath"])
            instances.append(Instance(
                host=host,
                container=f"{request['ProcessingJobName']}-{host}",
                folder=base,
                mounts=mounts,
                environment={**request.get("Environment", {}), **self.environment},
                arguments=[*entrypoint[1:], *app.get("ContainerArguments", [])],
                entrypoint=entrypoint[0] if entrypoint else None,
            ))
        return instances

    # -- serving ------------------------------------------------------------------------

    def serve(self, model_request: dict[str, Any], wait: bool) -> bool:
        """Start the image's ``serve`` with the model extracted in ``/opt/ml/model``, detached,
        as an endpoint instance would run it; with ``wait``, until ``/ping`` answers."""
        name = model_request["ModelName"]
        url = self._start_server(model_request, name)
        self.echo(f"Serving {model_request['PrimaryContainer']['ModelDataUrl']} at {url}/invocations "
                  f"(container {name}; stop it with `docker rm -f {name}`)")
        if not wait:
            return True
        failure = self._await_ping(url, name)
        self.echo(f"endpoint {name}: {'Failed' if failure else 'InService'}")
        if failure:
            self.echo(f"FailureReason: {failure}")
        return failure is None

    def transform(self, model_request: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        """Run a ``create_transform_job`` request: serve the model, send each input object's
        records to ``/invocations`` in batches as batch transform does (``SplitType``,
        ``BatchStrategy``, ``MaxPayloadInMB``), write ``<output>/<file>.out``."""
        name = request["TransformJobName"]
        description = {"TransformJobName": name, "ModelName": request["ModelName"],
                       "TransformInput": request["TransformInput"], "TransformOutput": request["TransformOutput"],
                       "TransformResources": request["TransformResources"]}
        url = self._start_server(model_request, name)
        try:
            failure = self._await_ping(url, name)
            if failure:
                return {**description, "TransformJobStatus": "Failed", "FailureReason": failure}
            source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
            bucket, _ = split_s3_uri(source)
            output = request["TransformOutput"]
            out_bucket, out_prefix = split_s3_uri(output["S3OutputPath"])
            for key, relative in list_objects(self.s3, source):
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                answers = []
                for batch in batches(body, request["TransformInput"].get("SplitType", "None"),
                                     request.get("BatchStrategy", "MultiRecord"),
                                     request.get("MaxPayloadInMB", 6) * 1024 * 1024):
                    status, answer = _post(f"{url}/invocations", batch,
                                           request["TransformInput"].get("ContentType", "text/csv"),
                                           output.get("Accept", "text/csv"))
                    if status != 200:
                        reason = f"ClientError: {relative}: /invocations answered {status}: {answer[:300]!r}"
                        return {**description, "TransformJobStatus": "Failed", "FailureReason": reason}
                    answers.append(answer.rstrip(b"\n"))
                out_key = f"{out_prefix.rstrip('/')}/{relative}.out".lstrip("/")
                self.s3.put_object(Bucket=out_bucket, Key=out_key, Body=b"\n".join(answers) + b"\n")
                self.echo(f"Uploaded s3://{out_bucket}/{out_key}")
            return {**description, "TransformJobStatus": "Completed"}
        finally:
            subprocess.run(["docker", "rm", "--force", name], capture_output=True)

    def _start_server(self, model_request: dict[str, Any], name: str) -> str:
        container = model_request["PrimaryContainer"]
        model_dir = Path(tempfile.mkdtemp(prefix=f"{name}-model-", dir=self.workdir))
        model_dir.chmod(0o755)
        self._download_model(container["ModelDataUrl"], model_dir)
        environment = {**container.get("Environment", {}), **self.environment}
        if self._host_network():
            # The container shares the host's ports: tell it which one to use.
            network, environment["SAGEMAKER_BIND_TO_PORT"] = [], str(self.port)
        else:
            network = ["-p", f"127.0.0.1:{self.port}:8080"]
        subprocess.run(
            ["docker", "run", "--detach", "--name", name, *self.docker_options, *network,
             *_env_args(environment), "-v", f"{model_dir}:/opt/ml/model:ro", container["Image"], "serve"],
            check=True, capture_output=True, text=True,
        )
        return f"http://127.0.0.1:{self.port}"

    def _await_ping(self, url: str, name: str, timeout: float = 180) -> str | None:
        """None once ``/ping`` answers 200; else why not, with the container's last log lines."""
        if _wait_for_ping(f"{url}/ping", timeout=timeout):
            return None
        logs = subprocess.run(["docker", "logs", "--tail", "30", name], capture_output=True, text=True)
        return f"/ping did not answer 200 within {timeout:.0f} s; last log lines:\n{logs.stdout}{logs.stderr}"

    # -- helpers ------------------------------------------------------------------------

    def _host_network(self) -> bool:
        options = " ".join(self.docker_options)
        return "--network=host" in options or "--network host" in options or "--net=host" in options

    def _job_folder(self, name: str) -> Any:
        if self.workdir is not None:
            folder = self.workdir / name
            folder.mkdir(parents=True)
            return _Keep(folder)
        # Containers may leave files this user cannot delete; they stay in the temp folder.
        return _Scratch(tempfile.TemporaryDirectory(prefix=f"{name}-", ignore_cleanup_errors=True))

    def _download(self, uri: str, distribution: str, instance: int, count: int, target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        bucket, _ = split_s3_uri(uri)
        objects = shard(list_objects(self.s3, uri), instance, count, distribution)
        for key, relative in objects:
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            self.s3.download_file(bucket, key, str(destination))
        _readable(target)

    def _download_model(self, uri: str, target: Path) -> None:
        bucket, key = split_s3_uri(uri)
        with tempfile.TemporaryDirectory() as scratch:
            archive = Path(scratch) / "model.tar.gz"
            self.s3.download_file(bucket, key, str(archive))
            extract_tar(archive, target)
        _readable(target)

    def _upload_tar(self, folder: Path, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        with tempfile.TemporaryDirectory() as scratch:
            archive = Path(scratch) / "model.tar.gz"
            with tarfile.open(archive, "w:gz") as tar:
                for path in sorted(folder.rglob("*")):
                    tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
            self.s3.upload_file(str(archive), bucket, key)

    def _upload_folder(self, folder: Path, uri: str) -> None:
        bucket, prefix = split_s3_uri(uri)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{path.relative_to(folder).as_posix()}".lstrip("/")
            self.s3.upload_file(str(path), bucket, key)
            self.echo(f"Uploaded s3://{bucket}/{key}")

    def _run_containers(
        self, image: str, instances: list[Instance], max_runtime: int, isolated: bool
    ) -> list[dict[str, Any]]:
        """Start one container per instance, stream their logs prefixed by host, wait for all.
        An isolated job's containers get no network, as with SageMaker's network isolation."""
        options = self.docker_options
        if isolated:
            options = [o for o in options if not o.startswith("--net")] + ["--network=none"]
        running = []
        for instance in instances:
            command = ["docker", "run", "--rm", "--name", instance.container, "--hostname", instance.host,
                       *options, *_env_args(instance.environment)]
            for source, target in instance.mounts.items():
                command += ["-v", f"{source}:{target}"]
            if instance.entrypoint:
                command += ["--entrypoint", instance.entrypoint]
            process = subprocess.Popen(
                [*command, image, *instance.arguments], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            logs: list[str] = []
            reader = threading.Thread(target=self._stream, args=(instance.host, process, logs), daemon=True)
            reader.start()
            running.append((instance, process, reader, logs))
        deadline = time.monotonic() + max_runtime
        results = []
        for instance, process, reader, logs in running:
            try:
                code = process.wait(timeout=max(deadline - time.monotonic(), 1))
            except subprocess.TimeoutExpired:
                # Killing the client would leave the container running.
                subprocess.run(["docker", "rm", "--force", instance.container], capture_output=True)
                code = process.wait()
                logs.append(f"MaxRuntimeExceeded after {max_runtime} s")
            reader.join()
            output = next(src for src, dst in instance.mounts.items() if dst == CONTAINER_ML / "output")
            results.append({
                "host": instance.host, "exit_code": code, "logs": logs,
                "failure": _read_text(output / "failure"), "message": _read_text(output / "message"),
            })
        return results

    def _stream(self, host: str, process: subprocess.Popen, logs: list[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            logs.append(line)
            self.echo(f"[{host}] {line}")


class _Scratch:
    """A temporary job folder that other users (the container's) can traverse."""

    def __init__(self, folder: tempfile.TemporaryDirectory) -> None:
        self.folder = folder

    def __enter__(self) -> Path:
        path = Path(self.folder.__enter__())
        path.chmod(0o755)
        return path

    def __exit__(self, *exc: object) -> None:
        self.folder.__exit__(*exc)


class _Keep:
    """A job folder that is kept for inspection (``workdir`` given)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> Path:
        return self.folder

    def __exit__(self, *exc: object) -> None:
        return None


def _processing_job_config(request: dict[str, Any]) -> dict[str, Any]:
    keys = ("ProcessingJobName", "ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources",
            "AppSpecification", "Environment", "NetworkConfig", "RoleArn", "StoppingCondition")
    return {key: request[key] for key in keys if key in request}


def _failure(results: list[dict[str, Any]], reason_file: str) -> str | None:
    """``FailureReason`` when an instance exited non-zero: what it wrote to
    ``/opt/ml/output/<reason_file>``, as SageMaker reports it."""
    for result in results:
        if result["exit_code"] != 0:
            text = result[reason_file].strip() or "See job logs for more information"
            return f"AlgorithmError: {text}, exit code: {result['exit_code']} ({result['host']})"[:1024]
    return None


def _env_args(environment: dict[str, str]) -> list[str]:
    return [argument for key, value in environment.items() for argument in ("-e", f"{key}={value}")]


def _write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, default=str))


def _writable(folder: Path) -> Path:
    """The container may run as another user than this process: let it write there."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)
    return folder


def _readable(folder: Path) -> None:
    for path in (folder, *folder.rglob("*")):
        path.chmod(path.stat().st_mode | (0o755 if path.is_dir() else 0o644))


def _read_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def batches(body: bytes, split_type: str, strategy: str, max_bytes: int) -> list[bytes]:
    """The request bodies batch transform sends for one object: the whole object
    (``SplitType`` None), one record each (``SingleRecord``) or as many whole lines as fit
    in ``max_bytes`` (``MultiRecord``)."""
    if split_type == "None":
        return [body]
    records = [line + b"\n" for line in body.splitlines() if line.strip()]
    if strategy == "SingleRecord":
        return records
    out: list[bytes] = []
    current = b""
    for record in records:
        if current and len(current) + len(record) > max_bytes:
            out.append(current)
            current = b""
        current += record
    return [*out, current] if current else out


def _post(url: str, body: bytes, content_type: str, accept: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_for_ping(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False
