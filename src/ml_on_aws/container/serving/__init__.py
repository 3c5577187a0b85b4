"""A prediction server implementing the SageMaker inference contract (``/ping``, ``/invocations``).

Start it with ``python -m ml_on_aws.container.serving [--model-dir DIR] [--port N] [--workers N]`` or
``kedro serve``; see docs/mlflow_and_serving.md.
"""

from ml_on_aws.container.serving.model import load_model

__all__ = ["load_model"]
