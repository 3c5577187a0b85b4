"""Turn a fitted model's output into a table: one shared shape for batch inference and serving."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


def predict_frame(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """``prediction`` and, for classifiers, one ``proba_<class>`` column per class."""
    estimator, inputs = _final_step(model, features)
    if not (hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_")):
        return pd.DataFrame({"prediction": estimator.predict(inputs)}, index=features.index)
    proba = estimator.predict_proba(inputs)
    classes = estimator.classes_
    if _predicts_most_probable_class(estimator):
        prediction = _most_probable_class(estimator, inputs, proba)
    else:
        prediction = estimator.predict(inputs)
    out = {"prediction": prediction}
    for index, label in enumerate(classes):
        out[f"proba_{label}"] = proba[:, index]
    return pd.DataFrame(out, index=features.index)


def _predicts_most_probable_class(estimator: Any) -> bool:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import DecisionTreeClassifier

    return isinstance(estimator, HistGradientBoostingClassifier | RandomForestClassifier | ExtraTreesClassifier | DecisionTreeClassifier)


def _most_probable_class(estimator: Any, inputs: Any, proba: np.ndarray) -> np.ndarray:
    """What ``estimator.predict`` returns, read off the probabilities instead of a second pass.

    For these estimators predict() is the class of highest probability; where the two highest
    are (nearly) tied, rounding could decide differently, so those rows ask predict() itself.
    """
    prediction = estimator.classes_.take(proba.argmax(axis=1))
    top_two = np.partition(proba, -2, axis=1)[:, -2:] if proba.shape[1] > 1 else None
    if top_two is not None:
        tied = np.flatnonzero(top_two[:, 1] - top_two[:, 0] <= 1e-9)
        if tied.size:
            rows = inputs.iloc[tied] if hasattr(inputs, "iloc") else inputs[tied]
            prediction[tied] = estimator.predict(rows)
    return prediction


def _final_step(model: Any, features: pd.DataFrame) -> tuple[Any, Any]:
    """The last estimator of a pipeline and its input: the preprocessing runs once, not once
    for ``predict`` and again for ``predict_proba`` (half the time for small requests)."""
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
