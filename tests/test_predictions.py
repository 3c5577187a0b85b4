"""predict_frame: one preprocessing pass, and the same predictions as the model's own predict()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from ml_on_aws.predictions import predict_frame


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    y = np.where(X["a"] + rng.normal(scale=0.8, size=400) > 0, "yes", "no")
    return X, y


@pytest.mark.parametrize(
    "estimator",
    [HistGradientBoostingClassifier(max_iter=20), RandomForestClassifier(n_estimators=10, random_state=0),
     LogisticRegression()],
)
def test_prediction_and_probabilities_match_the_model(data, estimator):
    X, y = data
    model = Pipeline([("scale", StandardScaler()), ("model", estimator)]).fit(X, y)
    frame = predict_frame(model, X)
    assert frame["prediction"].tolist() == model.predict(X).tolist()
    assert frame[["proba_no", "proba_yes"]].to_numpy() == pytest.approx(model.predict_proba(X))


def test_tied_probabilities_are_decided_by_the_model(data):
    # Four identical rows, two labels each: the leaf is 50/50 and predict() decides the tie.
    X = pd.DataFrame({"a": [1.0] * 4 + [2.0] * 4})
    y = ["yes", "no", "no", "yes", "yes", "yes", "yes", "no"]
    model = DecisionTreeClassifier(max_depth=1).fit(X, y)
    frame = predict_frame(model, X)
    assert (frame["proba_no"].iloc[:4] == 0.5).all()
    assert frame["prediction"].tolist() == model.predict(X).tolist()
