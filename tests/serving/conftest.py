"""A trained model directory and a server process on a free loopback port, shared by the module."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ..model_factory import write_model_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def start_server(model_dir: Path | None, log: Path, ready_status: int = 200, workers: int = 1,
                 kedro_project: Path | None = None, **env: str) -> Server:
    """``python -m ml_on_aws.container.serving`` as a user starts it (or ``kedro serve`` in ``kedro_project``,
    with its default model directory); waits until /ping answers ``ready_status``."""
    port = free_port()
    command = ([str(Path(sys.executable).with_name("kedro")), "serve"] if kedro_project is not None
               else [sys.executable, "-m", "ml_on_aws.container.serving", "--model-dir", str(model_dir)])
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)], cwd=kedro_project,
        stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, **env},
    )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/ping", timeout=2).status_code == ready_status:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"Server did not become ready:\n{log.read_text()}")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return write_model_dir(tmp_path_factory.mktemp("model") / "mlflow_model")


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory) -> Iterator[Server]:
    # A 1 MB limit keeps the 413 test's body small.
    running = start_server(model_dir, tmp_path_factory.mktemp("log") / "server.log", ML_ON_AWS_MAX_PAYLOAD_MB="1")
    yield running
    running.stop()
