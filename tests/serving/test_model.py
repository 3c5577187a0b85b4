"""The prediction columns a server knows without scoring a row are those ``predict_frame`` returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ml_on_aws.container.serving.model import prediction_columns
from ml_on_aws.core.predictions import predict_frame


@pytest.mark.parametrize(
    ("model", "target"),
    [
        (make_pipeline(StandardScaler(), LogisticRegression()), "label"),
        (make_pipeline(LogisticRegression()), "label"),  # a pipeline of one step
        (LogisticRegression(), "number"),  # three classes, numbers as labels
        (make_pipeline(StandardScaler(), SVC()), "label"),  # no probabilities
        (make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=5, random_state=0)), "value"),
        (make_pipeline(StandardScaler(), KMeans(n_clusters=2, n_init=1, random_state=0)), None),
    ],
)
def test_prediction_columns_are_those_predict_frame_returns(model, target):
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    targets = {"label": np.where(features["a"] > 0, "good", "bad"), "number": np.arange(60) % 3,
               "value": features["a"] * 2.0}
    model.fit(features, targets.get(target))
    assert prediction_columns(model) == list(predict_frame(model, features.head(3)).columns)
