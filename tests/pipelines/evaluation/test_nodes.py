import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression

from ml_on_aws.pipelines.evaluation.nodes import apply_quality_gate, evaluate_model, plot_evaluation
from ml_on_aws.pipelines.feature_engineering.nodes import build_feature_pipeline, split_data
from ml_on_aws.pipelines.training.nodes import train_model

FEATURES = {"derived": [], "scaling": "standard"}


def _fit(frame, data, training, split):
    train, test = split_data(frame, data, split)
    model, _ = train_model(train, build_feature_pipeline(train, data, FEATURES), data, training)
    return model, train, test


def _training(estimator):
    return {"estimator": {"class": estimator}, "search": {"kind": "none"}}


@pytest.fixture
def evaluation_params(base_params):
    return base_params["evaluation"]


def test_multiclass_scores_and_confusion_matrix(evaluation_params, base_params):
    X, y = make_classification(n_samples=600, n_features=6, n_informative=4, n_classes=3, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(label=np.array(["a", "b", "c"])[y])
    data = {"task": "classification", "target": "label"}
    model, train, test = _fit(frame, data, _training("sklearn.linear_model.LogisticRegression"), base_params["split"])
    report = evaluate_model(model, train, test, data, evaluation_params)
    assert 0.5 < report["test"]["roc_auc"] <= 1 and "f1_macro" in report["test"]
    assert np.asarray(report["confusion_matrix"]["matrix"]).sum() == len(test)
    assert report["bias_variance"]["metric"] == "roc_auc"
    figures = plot_evaluation(model, test, report, pd.DataFrame(), pd.DataFrame(), data, evaluation_params)
    assert set(figures) == {"roc_curve.png", "confusion_matrix.png"}


def test_regression_scores(evaluation_params, base_params):
    X, y = make_regression(n_samples=400, n_features=4, noise=5, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(price=y)
    data = {"task": "regression", "target": "price"}
    model, train, test = _fit(frame, data, _training("sklearn.linear_model.Ridge"), base_params["split"])
    report = evaluate_model(model, train, test, data, evaluation_params)
    assert report["test"]["r2"] > 0.9 and report["test"]["rmse"] > 0
    assert report["bias_variance"]["gap"] == pytest.approx(report["train"]["r2"] - report["test"]["r2"])


@pytest.mark.parametrize(("value", "accepted"), [(0.8, True), (0.7, False)])
def test_quality_gate(value, accepted, evaluation_params):
    status = apply_quality_gate({"task": "classification", "test": {"roc_auc": value}}, evaluation_params)
    assert status["accepted"] is accepted and str(value) in status["reason"]


def test_quality_gate_on_missing_metric_rejects(evaluation_params):
    status = apply_quality_gate({"task": "regression", "test": {"r2": 0.9}}, evaluation_params)
    assert status["accepted"] is False and "roc_auc" in status["reason"]


def test_long_steps_log_their_progress(caplog, evaluation_params, base_params):
    from sklearn.model_selection import learning_curve

    from ml_on_aws.pipelines.evaluation.nodes import (
        compute_feature_importance,
        compute_learning_curve,
    )

    X, y = make_classification(n_samples=400, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(label=np.array(["no", "yes"])[y])
    data = {"task": "classification", "target": "label", "positive_label": "yes"}
    split = base_params["split"]
    model, train, test = _fit(frame, data, _training("sklearn.linear_model.LogisticRegression"), split)
    with caplog.at_level("INFO", logger="ml_on_aws"):
        curve = compute_learning_curve(model, train, data, evaluation_params, split)
        compute_feature_importance(model, test, data, evaluation_params, split)
        evaluate_model(model, train, test, data, evaluation_params)
    messages = [record.getMessage() for record in caplog.records]
    for what, total in (("Learning curve size", 5), ("Permutation importance repeat", 5), ("Scoring", 2)):
        lines = [line for line in messages if line.startswith(what + " ")]
        assert [line.split()[len(what.split())] for line in lines] == [f"{i}/{total}" for i in range(1, total + 1)]
        assert "left, about" in lines[0] and "; done in" in lines[-1]
    # One size at a time gives the curve of one call with every size.
    features, target = train.drop(columns="label"), train["label"]
    sizes, _, validation = learning_curve(model, features, target, cv=evaluation_params["learning_curve_cv"],
                                          scoring="roc_auc", train_sizes=np.linspace(0.1, 1.0, 5), shuffle=True,
                                          random_state=split["random_state"])
    assert curve["train_size"].tolist() == sizes.tolist()
    assert np.allclose(curve["validation_mean"], validation.mean(axis=1))
