"""Which scikit-learn scorer ranks the search's candidates, and whether it can score the task.

A scorer that does not fit the task (``roc_auc`` on three classes, ``precision`` on text
labels) does not fail the search: scikit-learn records NaN for every candidate, ranks them all
first and keeps an arbitrary one. So the scorer is tried before any training, on a dummy model
of the task fitted to a sample of the target, which fails the same way in milliseconds.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

# Rows of the target the dummy model is scored on: enough for every class to appear.
_TRY_ROWS = 2_000


def default_scoring(task: str, n_classes: int | None, estimator: Any = None) -> str | None:
    """The scorer used when ``training.search.scoring`` is left unset.

    Ranking by ROC AUC needs scores, not labels: estimators without ``predict_proba`` or
    ``decision_function`` are ranked by balanced accuracy instead.
    """
    if task == "regression":
        return "r2"
    if task != "classification":
        return None
    ranks = estimator is None or hasattr(estimator, "predict_proba") or hasattr(estimator, "decision_function")
    if not ranks:
        return "balanced_accuracy"
    return "roc_auc" if (n_classes or 2) <= 2 else "roc_auc_ovr"


def scoring_problem(scoring: str, task: str, target: pd.Series) -> str | None:
    """Why ``scoring`` cannot score this task on this target, or None when it can."""
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.metrics import get_scorer

    try:
        scorer = get_scorer(scoring)
    except ValueError:
        return f"'{scoring}' is not a scikit-learn scorer name"
    y = target.dropna()
    y = y.sample(n=_TRY_ROWS, random_state=0) if len(y) > _TRY_ROWS else y
    if y.empty:
        return None  # the target checks name an empty target
    X = np.zeros((len(y), 1))
    dummy = DummyClassifier(strategy="stratified", random_state=0) if task == "classification" else DummyRegressor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = scorer(dummy.fit(X, y), X, y)
        except Exception as exc:  # noqa: BLE001 - any error here is the scorer not fitting the task
            return f"'{scoring}' cannot score this {describe_task(task, y)}: {str(exc).splitlines()[0]}"
    if not math.isfinite(value):
        return f"'{scoring}' gives no score (NaN) on this {describe_task(task, y)}"
    return None


def describe_task(task: str, target: pd.Series) -> str:
    if task != "classification":
        return task
    n_classes = target.nunique()
    return f"{'binary' if n_classes <= 2 else f'{n_classes}-class'} classification"


def suggested_scorers(task: str, n_classes: int | None) -> list[str]:
    if task == "regression":
        return ["r2", "neg_root_mean_squared_error", "neg_mean_absolute_error"]
    if (n_classes or 2) <= 2:
        return ["roc_auc", "average_precision", "balanced_accuracy", "f1 (numeric 0/1 labels only)"]
    return ["roc_auc_ovr", "balanced_accuracy", "f1_macro", "neg_log_loss"]
