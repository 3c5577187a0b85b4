"""Predictions shared by batch scoring, evaluation and serving."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ml_on_aws.core.predictions import _predict_is_argmax_of_proba, predict_with_proba


@pytest.fixture(scope="module")
def three_classes():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    y = np.where(X["a"] + rng.normal(scale=0.8, size=300) > 0.5, "high",
                 np.where(X["b"] > 0, "mid", "low"))
    return X, y


@pytest.mark.parametrize("estimator", [
    HistGradientBoostingClassifier(max_iter=20, random_state=0),
    RandomForestClassifier(n_estimators=10, random_state=0),
    ExtraTreesClassifier(n_estimators=10, random_state=0),
    CalibratedClassifierCV(LogisticRegression(), cv=3),
    LogisticRegression(),
    SVC(probability=True, random_state=0),
])
def test_same_answers_as_the_pipeline(estimator, three_classes):
    X, y = three_classes
    model = make_pipeline(StandardScaler(), estimator).fit(X, y)
    predicted, proba = predict_with_proba(model, X)
    assert (predicted == model.predict(X)).all()
    np.testing.assert_allclose(proba, model.predict_proba(X))


def test_shortcut_classes_still_predict_the_most_probable_class(three_classes):
    # Guards the shortcut against a scikit-learn upgrade that changes how one of them predicts.
    X, y = three_classes
    for kind in _predict_is_argmax_of_proba():
        estimator = kind(LogisticRegression(), cv=3) if kind is CalibratedClassifierCV else kind()
        estimator.fit(X, y)
        assert (estimator.predict(X) == estimator.classes_[np.argmax(estimator.predict_proba(X), axis=1)]).all()


def test_regressors_have_no_probabilities(three_classes):
    from sklearn.linear_model import Ridge

    X, _ = three_classes
    model = Ridge().fit(X, X["a"])
    predicted, proba = predict_with_proba(model, X)
    assert proba is None
    np.testing.assert_allclose(predicted, model.predict(X))


def test_tied_probabilities_are_decided_by_the_model():
    # Four identical rows, two labels each: the leaf is 50/50 and predict() decides the tie.
    from sklearn.tree import DecisionTreeClassifier

    from ml_on_aws.core.predictions import predict_frame

    X = pd.DataFrame({"a": [1.0] * 4 + [2.0] * 4})
    y = ["yes", "no", "no", "yes", "yes", "yes", "yes", "no"]
    model = DecisionTreeClassifier(max_depth=1).fit(X, y)
    frame = predict_frame(model, X)
    assert (frame["proba_no"].iloc[:4] == 0.5).all()
    assert frame["prediction"].tolist() == model.predict(X).tolist()
