"""SIGTERM during a job (SageMaker's StopTrainingJob, a spot interruption, `docker stop`): the job
fails with the failure file written and exits with 1, also when it does not unwind by itself.

Each test runs ``run_job`` in a child interpreter (it installs a SIGTERM handler) with a job
that says when it is running, then sends SIGTERM. The Docker version, with the real search and
joblib's workers, is in tests/docker/test_image.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ml_on_aws.container.job_runner import STOP_GRACE_ENV, STOPPED_REASON, run_job
from tests.conftest import PROJECT_ROOT

# modes: "unwinds" (KeyboardInterrupt ends it), "ignores-interrupt" (it never ends by itself),
# "worker-left-behind" (it ends, but a non-daemon worker process it started makes
# multiprocessing's exit handler wait for ever, which is what joblib's pool did in the image).
JOB = """
import multiprocessing, os, sys, time
from pathlib import Path
from ml_on_aws.container.job_runner import run_job

mode, folder = sys.argv[1], Path(sys.argv[2])

def job():
    worker = ""
    if mode == "worker-left-behind":
        process = multiprocessing.Process(target=time.sleep, args=(3600,))
        process.start()
        worker = str(process.pid)
    (folder / "ready.tmp").write_text(worker)
    (folder / "ready.tmp").rename(folder / "ready")
    while True:
        try:
            time.sleep(3600)
        except KeyboardInterrupt:
            if mode != "ignores-interrupt":
                raise

sys.exit(run_job("Training", folder / "output" / "failure", job))
"""


def stop_job(tmp_path: Path, mode: str, grace: str) -> tuple[int, str, str]:
    """Start the job, wait until it runs, SIGTERM it; its exit code, failure file and stderr."""
    env = {**os.environ, STOP_GRACE_ENV: grace}
    process = subprocess.Popen([sys.executable, "-c", JOB, mode, str(tmp_path)], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "ready").exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "ready").exists(), process.communicate(timeout=10)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    failure = tmp_path / "output" / "failure"
    return process.returncode, failure.read_text() if failure.exists() else "", stderr


def worker_pid(tmp_path: Path) -> int:
    return int((tmp_path / "ready").read_text())


def has_ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # killed, not yet reaped
    except psutil.NoSuchProcess:
        return True


def test_a_job_that_unwinds_fails_at_once_with_the_reason(tmp_path):
    # The watchdog is a daemon thread: with a grace far above the 60 s the test waits, the job
    # must still exit as soon as it has unwound.
    code, failure, stderr = stop_job(tmp_path, "unwinds", grace="600")
    assert code == 1, stderr
    assert failure == f"Training failed: KeyboardInterrupt: {STOPPED_REASON}\n"
    assert "ended forcibly" not in stderr


def test_a_job_that_ignores_the_interrupt_is_ended_after_the_grace_period(tmp_path):
    code, failure, stderr = stop_job(tmp_path, "ignores-interrupt", grace="2")
    assert code == 1, stderr
    assert failure.startswith(f"Training failed: {STOPPED_REASON}; still running 2 s later, so ended forcibly.")


def test_a_worker_that_blocks_the_exit_is_killed_and_the_job_exits(tmp_path):
    code, failure, stderr = stop_job(tmp_path, "worker-left-behind", grace="2")
    assert code == 1, stderr
    # The job's own failure paragraph, written before the exit hung, is kept.
    assert failure == f"Training failed: KeyboardInterrupt: {STOPPED_REASON}\n"
    assert "ended forcibly" in stderr
    pid = worker_pid(tmp_path)
    deadline = time.monotonic() + 10
    while not has_ended(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert has_ended(pid), f"worker {pid} still runs after the job exited"


@pytest.mark.parametrize("value", ["0", "-5", "soon", "inf", "nan"])
def test_a_bad_grace_period_fails_the_job_before_it_runs(tmp_path, monkeypatch, value):
    monkeypatch.setenv(STOP_GRACE_ENV, value)
    ran = []
    assert run_job("Training", tmp_path / "failure", lambda: ran.append(True)) == 1
    assert not ran
    assert f"{STOP_GRACE_ENV}={value!r} is not a number of seconds above 0" in (tmp_path / "failure").read_text()
