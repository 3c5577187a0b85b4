"""The scores are scikit-learn's, computed on the labels as they are, however they are computed."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from ml_on_aws.core.config import DataConfig
from ml_on_aws.pipelines.evaluation.metrics import classification_scores, confusion


def _model_and_data(labels: list[str], rows: int = 600):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    score = X["a"] * 2 + X["b"] + rng.normal(size=rows)
    y = pd.Series(np.array(labels)[np.digitize(score, np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1]))])
    return LogisticRegression().fit(X, y), X, y


def _reference(model, X, y, positive):
    """The scores straight from scikit-learn on the string labels."""
    predicted, proba, classes = model.predict(X), model.predict_proba(X), list(model.classes_)
    scores = {"accuracy": skm.accuracy_score(y, predicted), "balanced_accuracy": skm.balanced_accuracy_score(y, predicted)}
    if len(classes) == 2:
        scores |= {name: metric(y, predicted, pos_label=positive, zero_division=0)
                   for name, metric in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score))}
        scores["roc_auc"] = skm.roc_auc_score(y == positive, proba[:, classes.index(positive)])
    else:
        for average in ("macro", "weighted"):
            scores |= {f"{name}_{average}": metric(y, predicted, average=average, zero_division=0)
                       for name, metric in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score))}
        scores["roc_auc"] = skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    scores["log_loss"] = skm.log_loss(y, proba, labels=classes)
    return scores


@pytest.mark.parametrize("labels", [["good", "bad"], ["low", "mid", "high"]])
def test_classification_scores_match_scikit_learn_on_the_labels(labels):
    model, X, y = _model_and_data(labels)
    positive = "bad" if len(labels) == 2 else None
    scores = classification_scores(model, X, y, DataConfig(task="classification", target="y", positive_label=positive))
    assert scores == pytest.approx(_reference(model, X, y, positive), rel=1e-12)


def test_a_test_label_the_model_never_saw_is_scored_as_a_label():
    model, X, y = _model_and_data(["low", "mid", "high"])
    y_with_new_label = y.copy()
    y_with_new_label.iloc[:5] = "unheard"
    scores = classification_scores(model, X, y_with_new_label, DataConfig(task="classification", target="y"))
    predicted = model.predict(X)
    assert scores["accuracy"] == pytest.approx(skm.accuracy_score(y_with_new_label, predicted))
    assert scores["f1_macro"] == pytest.approx(skm.f1_score(y_with_new_label, predicted, average="macro", zero_division=0))
    # Both need a probability for every label seen: the model has none for the new one.
    assert "roc_auc" not in scores and "log_loss" not in scores


def test_confusion_matrix_counts_rows_by_label():
    model, X, y = _model_and_data(["low", "mid", "high"])
    y_with_new_label = y.copy()
    y_with_new_label.iloc[:5] = "unheard"
    result = confusion(model, X, y_with_new_label)
    expected = skm.confusion_matrix(y_with_new_label, model.predict(X), labels=list(model.classes_))
    assert result == {"labels": list(model.classes_), "matrix": expected.tolist()}
    assert np.asarray(result["matrix"]).sum() == len(y) - 5
