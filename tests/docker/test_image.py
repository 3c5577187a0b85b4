"""The image, built and run for real: train with a bind-mounted /opt/ml, a processing job with
mounted input and output folders, `docker stop` during training's search, and the endpoint
(ping, CSV and JSON invocations, a bad request, SIGTERM). The tests start a Docker engine and make the base image when need be."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pandas as pd
import pytest

from ml_on_aws.container.contract import METRIC_REGEX
from ml_on_aws.container.serving import load_model
from ml_on_aws.core.predictions import predict_frame
from tests.conftest import PROJECT_ROOT
from tests.sagemaker.test_entrypoint_contract import HYPERPARAMETERS, RAW, training_folder
from tests.support.docker_engine import docker_build, ensure_base_image, ensure_docker

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="session")
def docker_env() -> dict[str, str]:
    env = ensure_docker()
    ensure_base_image()
    return {**os.environ, **env}


@pytest.fixture(scope="session")
def image(docker_env) -> str:
    """The project's image, built once per test session."""
    tag = f"ml-on-aws:test-{uuid.uuid4().hex[:8]}"
    docker_build(PROJECT_ROOT, tag, docker_env)
    yield tag
    subprocess.run(["docker", "image", "rm", "-f", tag], env=docker_env, capture_output=True)


def docker(env: dict[str, str], *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=timeout)


def run_container(env: dict[str, str], image: str, mounts: dict[Path, str], *args: str) -> subprocess.CompletedProcess:
    volumes = [flag for host, inside in mounts.items() for flag in ("-v", f"{host}:{inside}")]
    return docker(env, "run", "--rm", "--network=host", *volumes, image, *args)


@pytest.fixture(scope="session")
def trained(docker_env, image, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    opt_ml = training_folder(tmp_path_factory.mktemp("docker_train"))
    return opt_ml, run_container(docker_env, image, {opt_ml: "/opt/ml"}, "train")


def test_train_writes_model_reports_and_metrics(trained):
    opt_ml, result = trained
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (opt_ml / "model" / "MLmodel").is_file()
    assert (opt_ml / "output" / "data" / "evaluation_report.json").is_file()
    assert not (opt_ml / "output" / "failure").exists()
    printed = re.search(METRIC_REGEX.format(name="test_roc_auc"), result.stdout)
    assert printed, "no metric line for test_roc_auc on stdout"
    saved = json.loads((opt_ml / "output" / "data" / "metrics.json").read_text())["test_roc_auc"]
    assert float(printed.group(1)) == pytest.approx(saved)


def test_train_without_data_writes_the_failure_file(docker_env, image, tmp_path):
    opt_ml = training_folder(tmp_path, channels={})
    result = run_container(docker_env, image, {opt_ml: "/opt/ml"}, "train")
    assert result.returncode == 1
    assert "'train' channel is missing" in (opt_ml / "output" / "failure").read_text()


def test_docker_stop_during_the_search_fails_the_job_within_30_s(docker_env, image, tmp_path):
    """StopTrainingJob and spot interruptions send SIGTERM: the job must write its failure file and
    exit by itself, before SIGKILL (exit code 137). It once hung until then: joblib could not
    kill its pool's workers (no psutil, no `pgrep` in the image), and the exit waited on them."""
    table = pd.read_csv(RAW / "credit_data.csv")
    # 2,500 fits on two worker processes: minutes of search, so the stop lands in the middle of it.
    # verbose 3 (scikit-learn's verbose 2: the project's 1 is its own line per candidate) makes each
    # worker print a "[CV] END ..." line per fit: proof the pool is running.
    hyperparameters = {**HYPERPARAMETERS, "training.search.n_iter": "500", "training.search.cv": "5",
                       "training.search.n_jobs": "2", "training.search.verbose": "3"}
    opt_ml = training_folder(tmp_path, hyperparameters=hyperparameters, channels={"train": [table]})
    name = f"ml-on-aws-stop-{uuid.uuid4().hex[:8]}"
    started = docker(docker_env, "run", "-d", "--name", name, "--network=host", "-v", f"{opt_ml}:/opt/ml", image, "train")
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 300
        logs = ""
        while time.monotonic() < deadline:
            result = docker(docker_env, "logs", name)
            logs = result.stdout + result.stderr
            running = docker(docker_env, "inspect", "--format", "{{.State.Running}}", name).stdout.strip()
            if re.search(r"\[CV[^\]]*\] END", logs) or running != "true":
                break
            time.sleep(1)
        assert re.search(r"\[CV[^\]]*\] END", logs), f"no fit of the search finished:\n{logs[-3000:]}"

        begun = time.monotonic()
        stopped = docker(docker_env, "stop", "--time", "30", name)  # SIGTERM, SIGKILL after 30 s
        took = time.monotonic() - begun
        assert stopped.returncode == 0, stopped.stderr
        exit_code = docker(docker_env, "inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        result = docker(docker_env, "logs", name)
        logs = (result.stdout + result.stderr)[-3000:]
        assert exit_code == "1", f"exit code {exit_code} (137: SIGKILLed) after {took:.1f} s:\n{logs}"
        assert took < 30, f"docker stop took {took:.1f} s:\n{logs}"
        failure = (opt_ml / "output" / "failure").read_text()
        assert failure.startswith("Training failed:") and "stopped by SIGTERM" in failure, failure
        assert not (opt_ml / "model" / "MLmodel").exists()
    finally:
        docker(docker_env, "rm", "-f", name)


def test_processing_job_runs_the_drift_pipeline(docker_env, image, trained, tmp_path):
    opt_ml, _ = trained
    inputs, outputs = tmp_path / "input", tmp_path / "output"
    (inputs / "reference_data").mkdir(parents=True)
    (inputs / "new_data").mkdir()
    outputs.mkdir()
    shutil.copy(opt_ml / "output" / "data" / "reference_data.parquet", inputs / "reference_data")
    batch = pd.read_csv(RAW / "credit_data_new.csv")
    batch.to_csv(inputs / "new_data" / "batch.csv", index=False)
    result = run_container(docker_env, image, {inputs: "/opt/ml/processing/input", outputs: "/opt/ml/processing/output"},
                           "process", "drift")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((outputs / "drift" / "drift_report.json").read_text())
    assert report["verdict"] in ("drift", "no drift")
    assert set(report["columns"]) >= {"Age", "Income", "Home"}  # every feature column compared
    signal = json.loads((outputs / "drift" / "retrain_signal.json").read_text())
    assert signal["retrain"] in (0, 1) and signal["checked_columns"] == len(report["columns"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url: str, body: bytes | None = None, content_type: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_serve_answers_ping_and_invocations_and_stops_on_sigterm(docker_env, image, trained):
    opt_ml, _ = trained
    port = free_port()
    name = f"ml-on-aws-serve-{uuid.uuid4().hex[:8]}"
    started = docker(docker_env, "run", "-d", "--name", name, "--network=host", "-e", f"SAGEMAKER_BIND_TO_PORT={port}",
                     "-e", "SAGEMAKER_MODEL_SERVER_WORKERS=2", "-v", f"{opt_ml / 'model'}:/opt/ml/model:ro", image, "serve")
    assert started.returncode == 0, started.stderr
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status, _ = request(f"{base}/ping")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
        assert status == 200, docker(docker_env, "logs", name).stdout[-3000:]

        # The trained model carries the compiled path and the container scores with it: its
        # answers are scikit-learn's own on the same model directory.
        assert (opt_ml / "model" / "extra_files" / "compiled_model.json").is_file()
        logs = docker(docker_env, "logs", name)
        assert "Scoring with the compiled prediction path" in logs.stdout + logs.stderr
        rows = pd.read_csv(RAW / "credit_data_new.csv").head(3).drop(columns=["Status"], errors="ignore")
        expected = predict_frame(load_model(opt_ml / "model"), rows)
        for single in (rows.head(1), rows):
            status, body = request(f"{base}/invocations", single.to_csv(index=False).encode(), "text/csv")
            assert status == 200, body
            answered = pd.read_csv(io.BytesIO(body))
            assert answered.to_numpy().tolist() == expected.head(len(single)).to_numpy().tolist()
        status, body = request(f"{base}/invocations", rows.to_json(orient="records").encode(), "application/json")
        assert status == 200, body
        pd.testing.assert_frame_equal(pd.DataFrame(json.loads(body)["predictions"]), expected.reset_index(drop=True))
        status, _ = request(f"{base}/invocations", b"{not json", "application/json")
        assert 400 <= status < 500

        stopped = docker(docker_env, "stop", "--time", "60", name)  # SIGTERM, SIGKILL only after 60 s
        assert stopped.returncode == 0
        exit_code = docker(docker_env, "inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        assert exit_code == "0", docker(docker_env, "logs", name).stdout[-3000:]
    finally:
        docker(docker_env, "rm", "-f", name)
