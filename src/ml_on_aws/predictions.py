"""Turn a fitted model's output into a table: one shared shape for batch inference and serving."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


def predict_frame(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """``prediction`` and, for classifiers, one ``proba_<class>`` column per class."""
    predicted, proba = predict_with_proba(model, features)
    out = {"prediction": predicted}
    if proba is not None:
        for index, label in enumerate(model.classes_):
            out[f"proba_{label}"] = proba[:, index]
    return pd.DataFrame(out, index=features.index)


def predict_with_proba(model: Any, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and, for classifiers, class probabilities (columns in ``model.classes_`` order).

    A pipeline's transforms run once for both: calling ``predict`` and ``predict_proba`` on
    the whole pipeline ran the preprocessing twice.
    """
    estimator, inputs = model, features
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        estimator, inputs = model.steps[-1][1], model[:-1].transform(features)
    proba = estimator.predict_proba(inputs) if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_") else None
    return estimator.predict(inputs), proba


def predict_in_chunks(model: Any, features: pd.DataFrame, chunk_rows: int) -> pd.DataFrame:
    """Predict slice by slice so the transformed copy of a large table never exists at once."""
    if len(features) <= chunk_rows:
        return predict_frame(model, features)
    parts = [
        predict_frame(model, features.iloc[start : start + chunk_rows])
        for start in range(0, len(features), chunk_rows)
    ]
    return pd.concat(parts)


def input_columns(model: Any) -> list[str]:
    """The raw columns a project model reads (its first step's ``feature_names_in_``)."""
    first = model.steps[0][1] if hasattr(model, "steps") else model
    return [str(c) for c in getattr(first, "feature_names_in_", np.array([]))]
