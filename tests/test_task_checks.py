"""Settings that cannot work for the task are refused before any node (issue 16, items 3 and 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_on_aws.core.config import ConfigurationError, DataConfig, EvaluationConfig, TrainingConfig
from ml_on_aws.pipelines.data_validation.task_checks import check_training_fits_task
from ml_on_aws.pipelines.evaluation.metrics import metric_names, task_scores
from ml_on_aws.pipelines.feature_engineering.columns import check_config_fits_data
from ml_on_aws.pipelines.training.scoring import default_scoring, scoring_problem

THREE_CLASSES = pd.Series(["a", "b", "c"] * 50)
TWO_CLASSES = pd.Series(["yes", "no"] * 50)
WHERE = {
    "training.search.scoring": "conf/base/parameters.yml",
    "training.clustering": "conf/mine/parameters.yml",
    "evaluation.quality_gate.metric": "conf/base/parameters.yml",
    "evaluation.quality_gate.greater_is_better": "conf/base/parameters.yml",
}


def _training(scoring=None, estimator="sklearn.linear_model.LogisticRegression", clustering=None) -> TrainingConfig:
    return TrainingConfig.model_validate({
        "estimator": {"class": estimator},
        "search": {"scoring": scoring, "space": {"C": [0.1, 1.0]}},
        "clustering": clustering,
    })


def _gate(metric: str, greater_is_better: bool = True) -> EvaluationConfig:
    return EvaluationConfig.model_validate(
        {"quality_gate": {"metric": metric, "min_test_score": 0.5, "greater_is_better": greater_is_better}}
    )


@pytest.mark.parametrize(
    ("task", "n_classes", "expected"),
    [("classification", 2, "roc_auc"), ("classification", 3, "roc_auc_ovr"), ("regression", None, "r2"),
     ("clustering", None, None)],
)
def test_default_scoring_fits_the_task(task, n_classes, expected):
    assert default_scoring(task, n_classes) == expected


def test_default_scoring_of_an_estimator_without_scores_is_balanced_accuracy():
    from sklearn.linear_model import Perceptron
    from sklearn.neighbors import NearestCentroid

    assert default_scoring("classification", 3, Perceptron()) == "roc_auc_ovr"  # decision_function
    assert default_scoring("classification", 3, NearestCentroid()) == "roc_auc_ovr"
    assert default_scoring("classification", 2, object()) == "balanced_accuracy"


@pytest.mark.parametrize(
    ("scoring", "task", "target", "fits"),
    [
        ("roc_auc", "classification", THREE_CLASSES, False),
        ("roc_auc_ovr", "classification", THREE_CLASSES, True),
        ("f1", "classification", THREE_CLASSES, False),
        ("f1_macro", "classification", THREE_CLASSES, True),
        ("precision", "classification", TWO_CLASSES, False),  # text labels: no pos_label 1
        ("roc_auc", "classification", TWO_CLASSES, True),
        ("accuracy", "regression", pd.Series(np.linspace(0, 1, 100)), False),
        ("neg_root_mean_squared_error", "regression", pd.Series(np.linspace(0, 1, 100)), True),
        ("no_such_scorer", "classification", TWO_CLASSES, False),
    ],
)
def test_a_scorer_is_tried_on_the_task_before_training(scoring, task, target, fits):
    assert (scoring_problem(scoring, task, target) is None) is fits


def test_multiclass_with_roc_auc_stops_naming_the_key_and_file():
    data = DataConfig(task="classification", target="species")
    with pytest.raises(ConfigurationError) as error:
        check_training_fits_task(data, _training("roc_auc"), None, THREE_CLASSES, WHERE)
    message = str(error.value)
    assert "'roc_auc'" in message and "3-class" in message and "roc_auc_ovr" in message
    assert "'training.search.scoring' in conf/base/parameters.yml" in message


def test_clustering_without_candidates_points_at_the_example():
    data = DataConfig(task="clustering")
    with pytest.raises(ConfigurationError) as error:
        check_training_fits_task(data, _training(), _gate("silhouette"), None, WHERE)
    assert "conf/credit_clustering/parameters.yml" in str(error.value)
    assert "conf/mine/parameters.yml" in str(error.value)


@pytest.mark.parametrize(
    ("task", "target", "metric", "greater", "needle"),
    [
        ("clustering", None, "roc_auc", True, "not computed for clustering"),
        ("regression", pd.Series(np.linspace(0, 1, 100)), "roc_auc", True, "not computed for regression"),
        ("classification", THREE_CLASSES, "f1", True, "f1_macro"),
        ("regression", pd.Series(np.linspace(0, 1, 100)), "rmse", True, "greater_is_better"),
    ],
)
def test_a_gate_metric_the_task_does_not_compute_is_refused(task, target, metric, greater, needle):
    clustering = {"candidates": [{"estimator": {"class": "sklearn.cluster.KMeans"}}]} if task == "clustering" else None
    data = DataConfig(task=task, target=None if task == "clustering" else "y")
    with pytest.raises(ConfigurationError, match=needle):
        check_training_fits_task(data, _training(clustering=clustering, estimator="sklearn.linear_model.Ridge"
                                                 if task == "regression" else "sklearn.linear_model.LogisticRegression"),
                                 _gate(metric, greater), target, WHERE)


def test_a_gate_on_probabilities_needs_an_estimator_that_gives_them():
    data = DataConfig(task="classification", target="y")
    with pytest.raises(ConfigurationError, match="no predict_proba"):
        check_training_fits_task(data, _training(estimator="sklearn.svm.LinearSVC"), _gate("roc_auc"), TWO_CLASSES, WHERE)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_metric_names_are_the_scores_evaluation_computes(n_classes):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=90)})
    y = pd.Series(np.array(list("abc"[:n_classes]))[np.arange(90) % n_classes])
    model = Pipeline([("model", LogisticRegression())]).fit(X, y)
    scores = task_scores(model, X, y, DataConfig(task="classification", target="y"), 100)
    assert set(scores) == metric_names("classification", n_classes)


def test_a_yaml_boolean_label_gets_quote_advice():
    data = DataConfig(task="classification", target="Churn", positive_label=True)
    with pytest.raises(ConfigurationError) as error:
        check_config_fits_data(["Churn", "x"], pd.Series(["Yes", "No", "No"]), data, {})
    assert "quote it" in str(error.value) and 'positive_label: "Yes"' in str(error.value)


def test_without_a_target_a_classification_gate_metric_of_any_number_of_classes_passes():
    """A table without rows has no target to count classes in: validation names the missing rows."""
    data = DataConfig(task="classification", target="y")
    for metric in ("f1", "f1_macro", "roc_auc"):
        check_training_fits_task(data, _training(), _gate(metric), None, WHERE)
    with pytest.raises(ConfigurationError, match="'rmse' is not computed for classification"):
        check_training_fits_task(data, _training(), _gate("rmse", greater_is_better=False), None, WHERE)
    with pytest.raises(ConfigurationError, match="'f1_macro' is not computed for binary classification"):
        check_training_fits_task(data, _training(), _gate("f1_macro"), TWO_CLASSES, WHERE)
