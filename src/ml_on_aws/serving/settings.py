"""Server settings from the command line and the environment (SageMaker sets the latter)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MODEL_DIR = "/opt/ml/model"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"Environment variable {name}={raw!r} is not a whole number.") from None
    if value < 1:
        raise SystemExit(f"Environment variable {name}={raw!r} must be at least 1.")
    return value


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
        limit, 6, by default) and ``ML_ON_AWS_MODEL_THREADS`` (threads per worker, 1)."""
        return cls(
            model_dir=os.environ.get("ML_ON_AWS_MODEL_DIR") or DEFAULT_MODEL_DIR,
            host=os.environ.get("ML_ON_AWS_HOST") or "127.0.0.1",
            port=_int_env("SAGEMAKER_BIND_TO_PORT", 8080),
            workers=_int_env("SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1),
            max_payload_bytes=_int_env("ML_ON_AWS_MAX_PAYLOAD_MB", 6) * 1024 * 1024,
            model_threads=_int_env("ML_ON_AWS_MODEL_THREADS", 1),
        )
