"""Server settings from the command line and the environment (SageMaker sets the latter)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

DEFAULT_MODEL_DIR = "/opt/ml/model"


def _int_env(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"Environment variable {name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise SystemExit(f"Environment variable {name}={raw!r} must be at least {minimum}.")
    return value


def _max_payload_bytes() -> int:
    """The larger of our own limit and the one SageMaker sets in batch transform containers.

    A transform job's ``MaxPayloadInMB`` (up to 100) reaches the container as
    ``SAGEMAKER_MAX_PAYLOAD_IN_MB``: SageMaker sends mini-batches up to that size, so refusing
    them would fail the job. 0 there means no limit (SingleRecord with chunked encoding)."""
    configured = _int_env("ML_ON_AWS_MAX_PAYLOAD_MB", 6)
    from_sagemaker = _int_env("SAGEMAKER_MAX_PAYLOAD_IN_MB", -1, minimum=0)
    if from_sagemaker == 0:
        return sys.maxsize
    return max(configured, from_sagemaker) * 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    model_dir: str = DEFAULT_MODEL_DIR
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_payload_bytes: int = 6 * 1024 * 1024
    model_threads: int = 1

    @classmethod
    def from_env(cls) -> ServerSettings:
        """``ML_ON_AWS_MODEL_DIR``, ``ML_ON_AWS_HOST``, ``SAGEMAKER_BIND_TO_PORT``,
        ``SAGEMAKER_MODEL_SERVER_WORKERS``, ``ML_ON_AWS_MAX_PAYLOAD_MB`` (SageMaker's real-time
        limit, 6, by default; a transform job's larger ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` wins) and ``ML_ON_AWS_MODEL_THREADS`` (threads per worker, 1)."""
        return cls(
            model_dir=os.environ.get("ML_ON_AWS_MODEL_DIR") or DEFAULT_MODEL_DIR,
            host=os.environ.get("ML_ON_AWS_HOST") or "127.0.0.1",
            port=_int_env("SAGEMAKER_BIND_TO_PORT", 8080),
            workers=_int_env("SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1),
            max_payload_bytes=_max_payload_bytes(),
            model_threads=_int_env("ML_ON_AWS_MODEL_THREADS", 1),
        )
