"""Turn a fitted model's output into a table: one shared shape for batch inference and serving."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline


def predict_frame(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """``prediction`` and, for classifiers, one ``proba_<class>`` column per class."""
    predicted, proba = predict_with_proba(model, features)
    return prediction_table(predicted, proba, model.classes_ if proba is not None else None, features.index)


def prediction_table(predicted: np.ndarray, proba: np.ndarray | None, classes: Any, index: Any = None) -> pd.DataFrame:
    """``prediction``, then ``proba_<class>`` per class when there are probabilities."""
    out = {"prediction": predicted}
    if proba is not None:
        for position, label in enumerate(classes):
            out[f"proba_{label}"] = proba[:, position]
    return pd.DataFrame(out, index=index)


def predict_with_proba(model: Any, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and, for classifiers, class probabilities (columns in ``model.classes_`` order).

    A pipeline's transforms run once for both: calling ``predict`` and ``predict_proba`` on
    the whole pipeline ran the preprocessing twice. For estimators whose ``predict`` is by
    definition the most probable class, the prediction is read off the probabilities instead
    of running the model a second time.
    """
    estimator, inputs = model, features
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        estimator, inputs = model.steps[-1][1], model[:-1].transform(features)
    if not (hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_")):
        return estimator.predict(inputs), None
    proba = estimator.predict_proba(inputs)
    if type(estimator) in _predict_is_argmax_of_proba():
        return _most_probable_class(estimator, inputs, proba), proba
    return estimator.predict(inputs), proba


def _most_probable_class(estimator: Any, inputs: Any, proba: np.ndarray) -> np.ndarray:
    """What ``estimator.predict`` returns, read off the probabilities instead of a second pass.

    Where the two highest probabilities are (nearly) tied, rounding could decide differently
    from the estimator, so those rows ask ``predict`` itself.
    """
    prediction = estimator.classes_.take(proba.argmax(axis=1))
    if proba.shape[1] > 1:
        top_two = np.partition(proba, -2, axis=1)[:, -2:]
        tied = np.flatnonzero(top_two[:, 1] - top_two[:, 0] <= 1e-9)
        if tied.size:
            rows = inputs.iloc[tied] if hasattr(inputs, "iloc") else inputs[tied]
            prediction[tied] = estimator.predict(rows)
    return prediction


@cache
def _predict_is_argmax_of_proba() -> frozenset[type]:
    """Classes whose scikit-learn ``predict`` is ``classes_[argmax(predict_proba)]``, exactly.

    Exact types only: a subclass may override ``predict``. Others (e.g. ``SVC``, whose
    probabilities are calibrated separately from its decisions) are asked both questions.
    tests/test_predictions.py checks each class still behaves so after an upgrade.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import DecisionTreeClassifier

    return frozenset({HistGradientBoostingClassifier, RandomForestClassifier, ExtraTreesClassifier,
                      DecisionTreeClassifier, CalibratedClassifierCV})


def predict_in_chunks(model: Any, features: pd.DataFrame, chunk_rows: int,
                      predict: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> pd.DataFrame:
    """Predict slice by slice so the transformed copy of a large table never exists at once;
    ``predict`` (a frame's ``predict_frame`` table) defaults to scikit-learn's way."""
    predict = predict or (lambda chunk: predict_frame(model, chunk))
    if len(features) <= chunk_rows:
        return predict(features)
    parts = [predict(features.iloc[start : start + chunk_rows]) for start in range(0, len(features), chunk_rows)]
    return pd.concat(parts)


def input_columns(model: Any) -> list[str]:
    """The raw columns a project model reads (its first step's ``feature_names_in_``)."""
    first = model.steps[0][1] if hasattr(model, "steps") else model
    return [str(c) for c in getattr(first, "feature_names_in_", np.array([]))]


def prediction_columns(model: Any) -> list[str]:
    """The columns ``predict_frame`` returns, without predicting (scikit-learn refuses 0 rows):
    ``prediction``, then ``proba_<class>`` per class when the final estimator has probabilities.
    tests/serving/test_model.py checks it against ``predict_frame`` for each kind of task."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if hasattr(final, "predict_proba") and hasattr(final, "classes_"):
        return ["prediction", *(f"proba_{label}" for label in model.classes_)]
    return ["prediction"]
