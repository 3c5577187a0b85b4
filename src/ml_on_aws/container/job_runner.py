"""Running one job so that SageMaker learns how it ended: any failure becomes one paragraph in
the job's failure file (/opt/ml/output/failure for training, /opt/ml/output/message for
processing) and exit code 1; :class:`JobError` is a failure whose message is that paragraph.

A stopped job (SIGTERM) fails the same way, and one that has not ended
ML_ON_AWS_STOP_GRACE_SECONDS (default 20) later is ended forcibly. What the job is and where its
failure file lies, the caller says (:mod:`.entrypoint`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

import psutil

# SageMaker keeps the first 1024 characters of the failure reason.
_FAILURE_LIMIT = 1000
# Seconds from SIGTERM to a forced exit (see _stop_on_sigterm). SageMaker sends SIGKILL 120 s
# after SIGTERM, `docker stop` after 10 s unless told otherwise.
STOP_GRACE_ENV = "ML_ON_AWS_STOP_GRACE_SECONDS"
DEFAULT_STOP_GRACE = 20.0
STOPPED_REASON = "stopped by SIGTERM (job stopped or timed out)"

logger = logging.getLogger("ml_on_aws.container")


class JobError(Exception):
    """A failure whose message is the reason to report as it is."""


def run_job(title: str, failure_file: Path, job: Any) -> int:
    """Run ``job``; on any failure write one paragraph to ``failure_file`` and return 1."""
    try:
        _stop_on_sigterm(title, failure_file, stop_grace())
        job()
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the failure file
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            return 0
        reason = f"{title} failed: {describe_failure(exc)}"
        logger.error(reason, exc_info=not isinstance(exc, JobError | KeyboardInterrupt))
        failure_file.parent.mkdir(parents=True, exist_ok=True)
        failure_file.write_text(reason[:_FAILURE_LIMIT] + "\n", encoding="utf-8")
        return 1
    logger.info("%s finished.", title)
    return 0


def describe_failure(exc: BaseException) -> str:
    """One paragraph: the error's own message (which names the file, column or key), its type
    when that adds something, and the exceptions it came from."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 3:
        message = " ".join(str(seen).split()) or "(no message)"
        known = isinstance(seen, JobError) or type(seen).__name__ in ("ConfigurationError", "HyperparameterError", "DatasetError")
        parts.append(message if known else f"{type(seen).__name__}: {message}")
        seen = seen.__cause__
    return " Caused by: ".join(parts)


def stop_grace() -> float:
    value = os.environ.get(STOP_GRACE_ENV) or str(DEFAULT_STOP_GRACE)
    try:
        grace = float(value)
    except ValueError:
        grace = -1.0
    if not 0 < grace < float("inf"):
        raise JobError(f"{STOP_GRACE_ENV}={value!r} is not a number of seconds above 0.")
    return grace


def _stop_on_sigterm(title: str, failure_file: Path, grace: float) -> None:
    """SageMaker stops a job with SIGTERM; as PID 1 Python would ignore it without a handler.

    The handler raises KeyboardInterrupt, so the job fails through run_job like any failure. It
    also starts a watchdog: the unwinding may not end (a library's cleanup that waits on its
    worker processes, as joblib's did when it could not kill them; a C call that never returns
    to the interpreter), and then SIGKILL would end the job with exit code 137 and possibly no
    failure file. After ``grace`` seconds the watchdog writes the failure file if it is still
    missing, kills this process's descendants and exits with 1 without running exit handlers.
    """
    started: list[threading.Thread] = []

    def stop(signum: int, frame: Any) -> None:
        if not started:
            # A daemon thread, so a job that does end in time exits at once rather than after `grace`.
            watchdog = threading.Timer(grace, _force_exit, args=(title, failure_file, grace))
            watchdog.daemon = True
            watchdog.start()
            started.append(watchdog)
        raise KeyboardInterrupt(STOPPED_REASON)

    signal.signal(signal.SIGTERM, stop)


def _force_exit(title: str, failure_file: Path, grace: float) -> None:
    """The watchdog's end of a stopped job. The main thread may be stuck holding a lock (logging's,
    a stream's, an import's), so this writes with os.write, logs nothing and imports nothing."""
    try:
        message = f"{title} failed: {STOPPED_REASON}; still running {grace:g} s later, so ended forcibly."
        os.write(2, f"{message}\n".encode())
        if not failure_file.exists():
            failure_file.parent.mkdir(parents=True, exist_ok=True)
            failure_file.write_text(message[:_FAILURE_LIMIT] + "\n", encoding="utf-8")
        _kill_descendants()
    finally:
        os._exit(1)


def _kill_descendants() -> None:
    """SIGKILL every process this one started (pool workers and their children), deepest first:
    outside a container nothing else would end them once this process is gone."""
    for child in reversed(psutil.Process().children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            child.kill()


