"""The model a server worker scores with: the fitted pipeline and the columns it takes."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml_on_aws.core.mlflow_models import find_model_directory, load_sklearn_model
from ml_on_aws.core.predictions import input_columns, predict_frame, prediction_columns
from ml_on_aws.pipelines.feature_engineering.compiled import (
    CompiledModel,
    NeedsScikitLearn,
    load_compiled,
)

logger = logging.getLogger("ml_on_aws.container.serving")
COMPILED_SWITCH = "ML_ON_AWS_COMPILED"


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
    compiled: CompiledModel | None = None  # the compiled prediction path, when the model has one

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.compiled is not None:
            try:
                return self.compiled.predict_frame(frame)
            except NeedsScikitLearn:
                pass
        return predict_frame(self.model, frame)

    def predict_typed(self, typed: dict[str, np.ndarray]) -> list[np.ndarray] | None:
        """The prediction columns (in ``outputs`` order) of rows already typed by ``fast_rows``,
        or None when they hold values the compiled path leaves to scikit-learn."""
        try:
            predicted, proba = self.compiled.predict_typed(typed)
        except NeedsScikitLearn:
            return None
        return [predicted] if proba is None else [predicted, *proba.T]

    def no_predictions(self) -> pd.DataFrame:
        """The predictions of no rows: what a CSV request that is only a header line gets."""
        return pd.DataFrame(columns=self.outputs)


def load_served_model(path: str | Path) -> ServedModel:
    from mlflow.models import Model

    directory = find_model_directory(path)
    model = load_sklearn_model(directory)
    required = input_columns(model)
    info = Model.load(str(directory))
    signature = info.signature
    columns = signature.inputs.input_names() if signature is not None else required
    compiled = None
    if compiled_path_enabled():
        compiled, why = load_compiled(directory, model, info.load_input_example(str(directory)))
        logger.info("Scoring with %s.", "the compiled prediction path" if compiled else f"scikit-learn: {why}")
    else:
        logger.info("Scoring with scikit-learn: the compiled prediction path is off (%s=0).", COMPILED_SWITCH)
    return ServedModel(model=model, columns=[str(c) for c in columns], required=required,
                       outputs=prediction_columns(model), compiled=compiled)


def compiled_path_enabled() -> bool:
    """``ML_ON_AWS_COMPILED=0`` (or false/off/no) makes the server score with scikit-learn only."""
    return os.environ.get(COMPILED_SWITCH, "1").strip().lower() not in ("0", "false", "off", "no")


def limit_threads(threads: int) -> None:
    """One OpenMP/BLAS thread per worker by default: on small requests, several threads per
    worker spend more time waking each other than predicting (300 ms vs 5 ms per row measured
    on 2 cores with HistGradientBoosting), and the workers already use every core."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
