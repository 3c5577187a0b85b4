"""The model a server worker scores with: the fitted pipeline and the columns it takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from ml_on_aws.core.mlflow_models import find_model_directory, load_sklearn_model
from ml_on_aws.core.predictions import input_columns, predict_frame


def load_model(path: str | Path) -> Any:
    """The fitted scikit-learn pipeline of an MLflow model directory the training pipeline wrote
    (``data/06_models/mlflow_model``, a registry download, or ``/opt/ml/model``)."""
    return load_sklearn_model(path)


@dataclass(frozen=True)
class ServedModel:
    model: Any
    columns: list[str]     # the training table's columns in order: a headerless CSV row
    required: list[str]    # the columns the model reads; a request must have them
    outputs: list[str]     # the columns of its predictions, known without scoring a row

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return predict_frame(self.model, frame)

    def no_predictions(self) -> pd.DataFrame:
        """The predictions of no rows: what a CSV request that is only a header line gets."""
        return pd.DataFrame(columns=self.outputs)


def load_served_model(path: str | Path) -> ServedModel:
    from mlflow.models import Model

    directory = find_model_directory(path)
    model = load_sklearn_model(directory)
    required = input_columns(model)
    signature = Model.load(str(directory)).signature
    columns = signature.inputs.input_names() if signature is not None else required
    return ServedModel(model=model, columns=[str(c) for c in columns], required=required,
                       outputs=prediction_columns(model))


def prediction_columns(model: Any) -> list[str]:
    """The columns ``predict_frame`` returns, without predicting (scikit-learn refuses 0 rows):
    ``prediction``, then ``proba_<class>`` per class when the final estimator has probabilities.
    tests/serving/test_model.py checks it against ``predict_frame`` for each kind of task."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if hasattr(final, "predict_proba") and hasattr(final, "classes_"):
        return ["prediction", *(f"proba_{label}" for label in model.classes_)]
    return ["prediction"]


def limit_threads(threads: int) -> None:
    """One OpenMP/BLAS thread per worker by default: on small requests, several threads per
    worker spend more time waking each other than predicting (300 ms vs 5 ms per row measured
    on 2 cores with HistGradientBoosting), and the workers already use every core."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
