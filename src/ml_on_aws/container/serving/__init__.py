"""A prediction server implementing the SageMaker inference contract (``/ping``, ``/invocations``).

Start it with ``python -m ml_on_aws.container.serving [--model-dir DIR] [--port N] [--workers N]`` or
``kedro serve``; see docs/mlflow_and_serving.md.

``load_model`` is imported on first use: ``python -m ml_on_aws.container.serving`` must set the thread
variables (OMP_NUM_THREADS...) before scikit-learn's OpenMP runtime loads, since threads the
server starts later take their thread count from them, not from a limit set in another thread.
"""

from typing import Any

__all__ = ["load_model"]


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from ml_on_aws.container.serving.model import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
