"""``python -m ml_on_aws.container.serving [--model-dir DIR] [--host H] [--port N] [--workers N]``.

Flags win over the environment (ML_ON_AWS_MODEL_DIR, ML_ON_AWS_HOST, SAGEMAKER_BIND_TO_PORT,
SAGEMAKER_MODEL_SERVER_WORKERS). A SageMaker container runs ``serve``, which maps here.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace

from ml_on_aws.container.serving.settings import ServerSettings

# Environment variables a worker process reads its settings from (workers are spawned).
_ENV = {"model_dir": "ML_ON_AWS_MODEL_DIR", "host": "ML_ON_AWS_HOST", "port": "SAGEMAKER_BIND_TO_PORT",
        "workers": "SAGEMAKER_MODEL_SERVER_WORKERS", "model_threads": "ML_ON_AWS_MODEL_THREADS"}


def serve(settings: ServerSettings) -> None:
    """Run the server until SIGTERM/SIGINT, which finish the requests in flight, then exit."""
    import uvicorn

    for name, variable in _ENV.items():
        os.environ[variable] = str(getattr(settings, name))
    os.environ["ML_ON_AWS_MAX_PAYLOAD_MB"] = str(max(1, settings.max_payload_bytes // (1024 * 1024)))
    # Read by OpenMP and BLAS when a worker first loads them; see serving.model.limit_threads.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, str(settings.model_threads))
    uvicorn.run(
        "ml_on_aws.container.serving.app:create_app", factory=True, host=settings.host, port=settings.port,
        workers=settings.workers if settings.workers > 1 else None, access_log=False, log_level="info",
        timeout_graceful_shutdown=30,
    )


def parse_args(argv: list[str] | None = None) -> ServerSettings:
    settings = ServerSettings.from_env()
    parser = argparse.ArgumentParser(prog="python -m ml_on_aws.container.serving", description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default=settings.model_dir, help="MLflow model directory (default %(default)s)")
    parser.add_argument("--host", default=settings.host, help="address to bind; 0.0.0.0 in a container (default %(default)s)")
    parser.add_argument("--port", type=int, default=settings.port, help="default %(default)s")
    parser.add_argument("--workers", type=int, default=settings.workers, help="processes (default %(default)s)")
    args = parser.parse_args(argv)
    if args.workers < 1 or not 0 < args.port < 65536:
        parser.error("--workers must be at least 1 and --port between 1 and 65535")
    return replace(settings, model_dir=args.model_dir, host=args.host, port=args.port, workers=args.workers)


def main(argv: list[str] | None = None) -> None:
    serve(parse_args(argv))


if __name__ == "__main__":
    main()
