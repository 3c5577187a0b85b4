"""The Docker side of a local run: one container per instance, its logs streamed to the caller
prefixed by host, and the job's end as SageMaker reports it (``FailureReason`` from the failure
file, ``FinalMetricDataList`` from the metric regexes applied to the logs); a model server
container (the image's ``serve``) and its ``/ping``."""

from __future__ import annotations

import re
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_on_aws.control.local import Echo
from ml_on_aws.control.local.staging import CONTAINER_ML, Instance


def run_containers(
    image: str, instances: list[Instance], max_runtime: int, isolated: bool, docker_options: list[str], echo: Echo
) -> list[dict[str, Any]]:
    """Start one container per instance, stream their logs prefixed by host, wait for all.
    An isolated job's containers get no network, as with SageMaker's network isolation."""
    options = docker_options
    if isolated:
        options = [o for o in options if not o.startswith("--net")] + ["--network=none"]
    running = []
    for instance in instances:
        command = ["docker", "run", "--rm", "--name", instance.container, "--hostname", instance.host,
                   *options, *env_args(instance.environment)]
        for source, target in instance.mounts.items():
            command += ["-v", f"{source}:{target}"]
        if instance.entrypoint:
            command += ["--entrypoint", instance.entrypoint]
        process = subprocess.Popen(
            [*command, image, *instance.arguments], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        logs: list[str] = []
        reader = threading.Thread(target=_stream, args=(instance.host, process, logs, echo), daemon=True)
        reader.start()
        running.append((instance, process, reader, logs))
    deadline = time.monotonic() + max_runtime
    results = []
    for instance, process, reader, logs in running:
        try:
            code = process.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            # Killing the client would leave the container running.
            remove_container(instance.container)
            code = process.wait()
            logs.append(f"MaxRuntimeExceeded after {max_runtime} s")
        reader.join()
        output = next(src for src, dst in instance.mounts.items() if dst == CONTAINER_ML / "output")
        results.append({
            "host": instance.host, "exit_code": code, "logs": logs,
            "failure": _read_text(output / "failure"), "message": _read_text(output / "message"),
        })
    return results


def _stream(host: str, process: subprocess.Popen, logs: list[str], echo: Echo) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        logs.append(line)
        echo(f"[{host}] {line}")


def remove_container(name: str) -> None:
    subprocess.run(["docker", "rm", "--force", name], capture_output=True)


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



def failure_reason(results: list[dict[str, Any]], reason_file: str) -> str | None:
    """``FailureReason`` when an instance exited non-zero: what it wrote to
    ``/opt/ml/output/<reason_file>``, as SageMaker reports it."""
    for result in results:
        if result["exit_code"] != 0:
            text = result[reason_file].strip() or "See job logs for more information"
            return f"AlgorithmError: {text}, exit code: {result['exit_code']} ({result['host']})"[:1024]
    return None


# -- serving ------------------------------------------------------------------------------


def start_server(
    name: str, image: str, model_dir: Path, environment: dict[str, str], docker_options: list[str], port: int
) -> str:
    """Start the image's ``serve`` detached, with ``model_dir`` as ``/opt/ml/model``, as an
    endpoint instance would run it; its URL on this machine."""
    environment = dict(environment)
    if host_network(docker_options):
        # The container shares the host's ports: tell it which one to use.
        network, environment["SAGEMAKER_BIND_TO_PORT"] = [], str(port)
    else:
        network = ["-p", f"127.0.0.1:{port}:8080"]
    subprocess.run(
        ["docker", "run", "--detach", "--name", name, *docker_options, *network,
         *env_args(environment), "-v", f"{model_dir}:/opt/ml/model:ro", image, "serve"],
        check=True, capture_output=True, text=True,
    )
    return f"http://127.0.0.1:{port}"


def await_ping(url: str, name: str, timeout: float = 180) -> str | None:
    """None once ``/ping`` answers 200; else why not, with the container's last log lines."""
    if _wait_for_ping(f"{url}/ping", timeout=timeout):
        return None
    logs = subprocess.run(["docker", "logs", "--tail", "30", name], capture_output=True, text=True)
    return f"/ping did not answer 200 within {timeout:.0f} s; last log lines:\n{logs.stdout}{logs.stderr}"


def host_network(docker_options: list[str]) -> bool:
    options = " ".join(docker_options)
    return "--network=host" in options or "--network host" in options or "--net=host" in options


def env_args(environment: dict[str, str]) -> list[str]:
    return [argument for key, value in environment.items() for argument in ("-e", f"{key}={value}")]


def _read_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


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
