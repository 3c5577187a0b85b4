"""Shared fixtures: a throwaway copy of the project to run pipelines in, and a runner for it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KEDRO = str(Path(sys.executable).with_name("kedro"))

# Nothing in the tests may prompt or reach the internet.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(autouse=True)
def _mlflow_tracking_left_as_found():
    """kedro-mlflow sets MLflow's process-wide tracking URI and experiment (and the variables
    MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID with them) when a session starts in the test's
    process, e.g. a job run in a scratch folder that is deleted after: the next test must not
    write into that store, so what a test set is forgotten when it ends."""
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")
    before = {name: os.environ.get(name) for name in names}
    yield
    if "mlflow" in sys.modules and any(os.environ.get(name) != value for name, value in before.items()):
        import mlflow
        from mlflow.tracking import fluent

        mlflow.set_tracking_uri(None)  # no process-wide URI
        fluent._active_experiment_id = None  # MLflow has no public call that forgets the experiment
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def copy_project(destination: Path) -> Path:
    """The project's configuration, bundled raw data and metadata, without outputs or stores."""
    for name in ("conf", "pyproject.toml", ".telemetry"):
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("local"))
        else:
            shutil.copy2(source, destination / name)
    (destination / "conf" / "local").mkdir(exist_ok=True)
    # Kedro checks that the source folder exists; the package itself is installed in the venv.
    (destination / "src").mkdir()
    for folder in sorted((PROJECT_ROOT / "data").iterdir()):
        if folder.is_dir():
            (destination / "data" / folder.name).mkdir(parents=True, exist_ok=True)
    for raw in (PROJECT_ROOT / "data" / "01_raw").glob("*.csv"):
        shutil.copy2(raw, destination / "data" / "01_raw" / raw.name)
    return destination


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the project in a temporary folder."""
    return copy_project(tmp_path / "project")


def run_kedro(project: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run ``kedro ARGS`` in ``project`` as a user would; output captured for assertions."""
    return subprocess.run(
        [KEDRO, *args],
        cwd=project,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_kedro_until_killed(project: Path, *args: str, env: dict[str, str] | None = None,
                           timeout: int = 900) -> subprocess.CompletedProcess:
    """``kedro ARGS`` that is expected to die by SIGKILL (ML_ON_AWS_TEST_KILL_AT), then what a lost
    machine or container also ends: the processes it started (joblib's workers), in its own
    process group, which would otherwise hold the output pipes open."""
    import signal
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([KEDRO, *args], cwd=project, env={**os.environ, "COLUMNS": "200", **(env or {})},
                                   stdout=out, stderr=err, text=True, start_new_session=True)
        try:
            process.wait(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(process.args, process.returncode, out.read(), err.read())


@contextlib.contextmanager
def moto_server():
    """moto's server over real HTTP on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_endpoint():
    """One moto server for the whole test session."""
    with moto_server() as endpoint:
        yield endpoint
