"""Turn a fitted model's output into a table: one shared shape for batch inference and serving."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


def predict_frame(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """``prediction`` and, for classifiers, one ``proba_<class>`` column per class."""
    estimator, inputs = _final_step_inputs(model, features)
    out = {"prediction": estimator.predict(inputs)}
    if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_"):
        proba = estimator.predict_proba(inputs)
        for index, label in enumerate(model.classes_):
            out[f"proba_{label}"] = proba[:, index]
    return pd.DataFrame(out, index=features.index)


def _final_step_inputs(model: Any, features: pd.DataFrame) -> tuple[Any, Any]:
    """The final estimator and its input: a pipeline's transforms run once, not per method.

    Calling ``predict`` and ``predict_proba`` on the whole pipeline ran the preprocessing twice.
    """
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model.steps[-1][1], model[:-1].transform(features)
    return model, features


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
