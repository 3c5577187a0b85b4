"""Nodes that score the model, explain it, draw it, and decide whether it is good enough."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.model_selection import learning_curve
from sklearn.pipeline import Pipeline

from ml_on_aws.core.config import DataConfig, EvaluationConfig, SplitConfig, parse
from ml_on_aws.core.predictions import predict_frame
from ml_on_aws.core.progress import Steps, activity
from ml_on_aws.pipelines.evaluation import metrics as m
from ml_on_aws.pipelines.evaluation import plots
from ml_on_aws.pipelines.shared import features_and_target

logger = logging.getLogger(__name__)

_SCORERS = {"classification": "roc_auc", "regression": "r2"}
# Permutation importance: times every column is shuffled.
_IMPORTANCE_REPEATS = 5


def evaluate_model(
    model: Pipeline,
    train: pd.DataFrame,
    test: pd.DataFrame,
    data_params: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> dict[str, Any]:
    """Train and test scores side by side, so bias and variance can be read off."""
    data = parse(DataConfig, data_params, "data")
    evaluation = parse(EvaluationConfig, evaluation_params, "evaluation")
    X_train, y_train = features_and_target(train, data)
    X_test, y_test = features_and_target(test, data)
    report: dict[str, Any] = {"task": data.task, "rows": {"train": len(train), "test": len(test)}}
    steps = Steps(logger, "Scoring", 2)
    for part, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        with steps.step(label=f"{part} set, {len(X)} rows"):
            report[part] = m.task_scores(model, X, y, data, evaluation.plot_max_rows)
    if data.task == "classification":
        report["confusion_matrix"] = m.confusion(model, X_test, y_test)
        if len(model.classes_) == 2:
            report["positive_label"] = str(m.positive_label(y_train, data))
    primary = m.PRIMARY_METRIC[data.task]
    if primary not in report["test"] and data.task == "classification":
        primary = "accuracy"
    report["bias_variance"] = m.bias_variance(report["train"], report["test"], primary, evaluation.overfit_gap)
    logger.info("Test scores: %s", {k: round(v, 4) for k, v in report["test"].items() if isinstance(v, float)})
    return report


def predict_test_set(model: Pipeline, test: pd.DataFrame, data_params: dict[str, Any]) -> pd.DataFrame:
    """The model's predictions on its test set (``prediction``, ``proba_<class>``), with the
    target when there is one: the distribution live predictions are compared with (monitoring)."""
    data = parse(DataConfig, data_params, "data")
    X, y = features_and_target(test, data)
    predictions = predict_frame(model, X)
    return predictions if y is None else predictions.assign(**{data.target: y.to_numpy()})


def compute_learning_curve(
    model: Pipeline,
    train: pd.DataFrame,
    data_params: dict[str, Any],
    evaluation_params: dict[str, Any],
    split_params: dict[str, Any],
) -> pd.DataFrame:
    """Cross-validated score against training rows, on a sample of large data."""
    data = parse(DataConfig, data_params, "data")
    evaluation = parse(EvaluationConfig, evaluation_params, "evaluation")
    seed = parse(SplitConfig, split_params, "split").random_state
    if data.task == "clustering":
        return pd.DataFrame(columns=["train_size", "train_mean", "train_std", "validation_mean", "validation_std"])
    X, y = features_and_target(m.sample_rows(train, evaluation.learning_curve_max_rows, seed), data)
    scoring = _SCORERS[data.task] if data.task == "regression" or y.nunique() == 2 else "roc_auc_ovr"
    # One size at a time, for a progress line each: the same folds and shuffled rows every call
    # (random_state), so the same curve as one call with every size.
    fractions = np.linspace(0.1, 1.0, 5)
    steps = Steps(logger, "Learning curve size", len(fractions))
    parts = []
    for fraction in fractions:
        with steps.step(label=f"{fraction:.0%} of {len(X)} rows, {evaluation.learning_curve_cv}-fold {scoring}"):
            parts.append(learning_curve(
                clone(model), X, y, cv=evaluation.learning_curve_cv, scoring=scoring,
                train_sizes=[fraction], shuffle=True, random_state=seed,
            ))
    sizes = np.concatenate([part[0] for part in parts])
    train_scores = np.concatenate([part[1] for part in parts])
    validation_scores = np.concatenate([part[2] for part in parts])
    return pd.DataFrame(
        {
            "train_size": sizes,
            "train_mean": train_scores.mean(axis=1),
            "train_std": train_scores.std(axis=1),
            "validation_mean": validation_scores.mean(axis=1),
            "validation_std": validation_scores.std(axis=1),
            "metric": scoring,
        }
    )


def compute_feature_importance(
    model: Pipeline,
    test: pd.DataFrame,
    data_params: dict[str, Any],
    evaluation_params: dict[str, Any],
    split_params: dict[str, Any],
) -> pd.DataFrame:
    """Permutation importance of each raw input column, whatever the estimator."""
    data = parse(DataConfig, data_params, "data")
    evaluation = parse(EvaluationConfig, evaluation_params, "evaluation")
    seed = parse(SplitConfig, split_params, "split").random_state
    if data.task == "clustering":
        return pd.DataFrame(columns=["feature", "importance_mean", "importance_std"])
    X, y = features_and_target(m.sample_rows(test, min(evaluation.plot_max_rows, 5_000), seed), data)
    scoring = _SCORERS[data.task] if data.task == "regression" or y.nunique() == 2 else "accuracy"
    # One repeat (every column shuffled once) at a time, for a progress line each.
    steps = Steps(logger, "Permutation importance repeat", _IMPORTANCE_REPEATS)
    repeats = []
    for repeat in range(_IMPORTANCE_REPEATS):
        with steps.step(label=f"{X.shape[1]} columns on {len(X)} rows"):
            repeats.append(permutation_importance(
                model, X, y, scoring=scoring, n_repeats=1, random_state=seed + repeat).importances[:, 0])
    importances = np.column_stack(repeats)
    return (
        pd.DataFrame(
            {"feature": X.columns, "importance_mean": importances.mean(axis=1), "importance_std": importances.std(axis=1)}
        )
        .sort_values("importance_mean", ascending=False)
        .reset_index(drop=True)
    )


def plot_evaluation(
    model: Pipeline,
    test: pd.DataFrame,
    report: dict[str, Any],
    curve: pd.DataFrame,
    importances: pd.DataFrame,
    data_params: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> dict[str, Any]:
    """The figures for the task, keyed by file name."""
    data = parse(DataConfig, data_params, "data")
    evaluation = parse(EvaluationConfig, evaluation_params, "evaluation")
    X, y = features_and_target(m.sample_rows(test, evaluation.plot_max_rows, 0), data)
    with activity(f"figures from {len(X)} rows"):
        return _figures(model, X, y, report, curve, importances, data)


def _figures(model: Pipeline, X: pd.DataFrame, y: pd.Series | None, report: dict[str, Any], curve: pd.DataFrame,
             importances: pd.DataFrame, data: DataConfig) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if data.task == "classification":
        positive = report.get("positive_label")
        positive = next((c for c in model.classes_ if str(c) == positive), None)
        figures["roc_curve.png"] = plots.roc_curves(model, X, y, positive)
        figures["confusion_matrix.png"] = plots.confusion_matrix(**report["confusion_matrix"])
    elif data.task == "regression":
        figures["residuals.png"] = plots.residuals(y, model.predict(X))
    else:
        figures["cluster_sizes.png"] = plots.cluster_sizes(report["test"]["cluster_sizes"])
        features = Pipeline(model.steps[:-1]).transform(X)
        figures["clusters_pca.png"] = plots.cluster_projection(features, model.predict(X))
    if not curve.empty:
        figures["learning_curve.png"] = plots.learning_curve(curve, str(curve["metric"].iloc[0]))
    if not importances.empty:
        figures["feature_importance.png"] = plots.feature_importances(importances)
    return figures


def apply_quality_gate(report: dict[str, Any], evaluation_params: dict[str, Any]) -> dict[str, Any]:
    """Accept the model when its test score on the configured metric clears the bar."""
    gate = parse(EvaluationConfig, evaluation_params, "evaluation").quality_gate
    value = report["test"].get(gate.metric)
    if value is None:
        accepted, reason = False, f"metric '{gate.metric}' was not computed for task '{report['task']}'"
    else:
        accepted = value >= gate.min_test_score if gate.greater_is_better else value <= gate.min_test_score
        relation = ">=" if gate.greater_is_better else "<="
        reason = f"test {gate.metric} {value:.4f} {'meets' if accepted else 'misses'} {relation} {gate.min_test_score}"
    (logger.info if accepted else logger.warning)("Quality gate: model %s (%s).", "accepted" if accepted else "rejected", reason)
    return {"accepted": bool(accepted), "metric": gate.metric, "value": value,
            "threshold": gate.min_test_score, "reason": reason}
