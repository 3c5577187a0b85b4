"""Scores of a fitted model on a labelled (or, for clustering, unlabelled) table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.pipeline import Pipeline

from ml_on_aws.core.config import DataConfig
from ml_on_aws.core.predictions import predict_with_proba

# The primary metric of each task, higher is better, used for bias vs variance.
PRIMARY_METRIC = {"classification": "roc_auc", "regression": "r2", "clustering": "silhouette"}
# Scores where lower is better: a quality gate on them needs greater_is_better: false.
ERROR_METRICS = {"rmse", "mae", "mape", "log_loss", "davies_bouldin"}


def metric_names(task: str, n_classes: int | None = None, has_proba: bool = True) -> set[str]:
    """The test scores ``task_scores`` computes for the task: what a quality gate can use."""
    if task == "regression":
        return {"rmse", "mae", "r2", "mape"}
    if task == "clustering":
        return {"n_clusters", "silhouette", "davies_bouldin"}
    names = {"accuracy", "balanced_accuracy"} | ({"roc_auc", "log_loss"} if has_proba else set())
    if (n_classes or 2) <= 2:
        return names | {"precision", "recall", "f1"}
    return names | {f"{kind}_{average}" for kind in ("precision", "recall", "f1") for average in ("macro", "weighted")}


def positive_label(y: pd.Series, data: DataConfig) -> Any:
    """The configured positive class, else the rarer one (the class a user usually cares about)."""
    if data.positive_label is not None:
        return data.positive_label
    counts = y.value_counts()
    return counts.index[-1]


def classification_scores(model: Pipeline, X: pd.DataFrame, y: pd.Series, data: DataConfig) -> dict[str, Any]:
    predicted, proba = predict_with_proba(model, X)
    return scores_of_classes(y, predicted, proba, list(model.classes_), data)


def scores_of_classes(y: pd.Series, predicted: Any, proba: np.ndarray | None, classes: list[Any], data: DataConfig,
                      positive: Any = None) -> dict[str, Any]:
    """Classification scores of predictions already made (``proba``: a column per class of
    ``classes``, or None). ``positive`` is the class of two that ROC AUC, precision and recall
    are about; None: :func:`positive_label` of ``y``."""
    if len(classes) == 2 and positive is None:
        positive = positive_label(y, data)
    elif len(classes) != 2:
        positive = None
    # Scored on positions in `classes` when every label is a class: same scores, faster (_class_codes).
    y_codes, predicted_codes = _class_codes(y, classes), _class_codes(predicted, classes)
    if y_codes is not None and predicted_codes is not None and (positive is None or positive in classes):
        y, predicted = y_codes, predicted_codes
        positive = None if positive is None else classes.index(positive)
        classes = list(range(len(classes)))
    seen = set(pd.unique(y))
    scores: dict[str, Any] = {
        "accuracy": skm.accuracy_score(y, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(y, predicted),
    }
    if len(classes) == 2:
        scores.update(
            precision=skm.precision_score(y, predicted, pos_label=positive, zero_division=0),
            recall=skm.recall_score(y, predicted, pos_label=positive, zero_division=0),
            f1=skm.f1_score(y, predicted, pos_label=positive, zero_division=0),
        )
        if proba is not None and len(seen) == 2:
            scores["roc_auc"] = skm.roc_auc_score(y == positive, proba[:, classes.index(positive)])
    else:
        for average in ("macro", "weighted"):
            scores[f"precision_{average}"] = skm.precision_score(y, predicted, average=average, zero_division=0)
            scores[f"recall_{average}"] = skm.recall_score(y, predicted, average=average, zero_division=0)
            scores[f"f1_{average}"] = skm.f1_score(y, predicted, average=average, zero_division=0)
        if proba is not None and seen == set(classes):
            scores["roc_auc"] = skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    if proba is not None and seen <= set(classes):  # else undefined: a class without probability
        scores["log_loss"] = skm.log_loss(y, proba, labels=classes)
    return {k: float(v) for k, v in scores.items()}


def confusion(model: Pipeline, X: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    labels = list(model.classes_)
    # Rows whose label the model never saw count nowhere, as with `labels=` on the labels.
    codes = pd.Index(labels)
    matrix = skm.confusion_matrix(codes.get_indexer(y), codes.get_indexer(model.predict(X)), labels=list(range(len(labels))))
    return {"labels": [str(label) for label in labels], "matrix": matrix.tolist()}


def _class_codes(values: Any, classes: list[Any]) -> np.ndarray | None:
    """Each value's position in ``classes``; None if a value is not a class.

    scikit-learn's metrics sort and compare the labels themselves: on string labels that
    took 15 s of a 1M-row evaluation. Positions give the same scores in a fraction of it.
    """
    codes = pd.Index(classes).get_indexer(values)
    return None if (codes < 0).any() else codes


def regression_scores(model: Pipeline, X: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    return scores_of_values(y, model.predict(X))


def scores_of_values(y: pd.Series, predicted: Any) -> dict[str, float]:
    """Regression scores of predictions already made."""
    return {
        "rmse": float(skm.root_mean_squared_error(y, predicted)),
        "mae": float(skm.mean_absolute_error(y, predicted)),
        "r2": float(skm.r2_score(y, predicted)),
        "mape": float(skm.mean_absolute_percentage_error(y, predicted)),
    }


def clustering_scores(model: Pipeline, X: pd.DataFrame, sample_size: int, seed: int) -> dict[str, Any]:
    labels = model.predict(X)
    features = Pipeline(model.steps[:-1]).transform(X)
    sizes = pd.Series(labels).value_counts().sort_index()
    scores: dict[str, Any] = {
        "n_clusters": int(len(set(labels) - {-1})),
        "cluster_sizes": {str(k): int(v) for k, v in sizes.items()},
    }
    if 1 < len(set(labels)) < len(labels):
        scores["silhouette"] = float(
            skm.silhouette_score(features, labels, sample_size=min(sample_size, len(labels)), random_state=seed)
        )
        scores["davies_bouldin"] = float(skm.davies_bouldin_score(features, labels))
    return scores


def task_scores(model: Pipeline, X: pd.DataFrame, y: pd.Series | None, data: DataConfig, sample_size: int) -> dict[str, Any]:
    """The scores of the task's kind; clustering samples the silhouette with a fixed seed."""
    if data.task == "clustering":
        return clustering_scores(model, X, sample_size, seed=0)
    if data.task == "classification":
        return classification_scores(model, X, y, data)
    return regression_scores(model, X, y)


def bias_variance(train: dict[str, Any], test: dict[str, Any], metric: str, gap_threshold: float) -> dict[str, Any]:
    """Compare train and test on the primary metric: a large gap means variance, low both means bias."""
    if metric not in train or metric not in test:
        return {}
    gap = float(train[metric] - test[metric])
    if gap > gap_threshold:
        diagnosis = "high variance: the model fits training data much better than unseen data"
    else:
        diagnosis = "train and test agree: no sign of overfitting (judge bias by the test score)"
    return {"metric": metric, "train": float(train[metric]), "test": float(test[metric]),
            "gap": gap, "gap_threshold": gap_threshold, "diagnosis": diagnosis}


def sample_rows(table: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    return table if len(table) <= max_rows else table.sample(n=max_rows, random_state=seed)
