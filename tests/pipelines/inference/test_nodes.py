import pandas as pd
import pytest

from ml_on_aws.pipelines.feature_engineering.nodes import build_feature_pipeline
from ml_on_aws.pipelines.inference.nodes import score_new_data
from ml_on_aws.pipelines.training.nodes import train_model


@pytest.fixture(scope="module")
def model(credit, base_params):
    training = {"estimator": base_params["training"]["estimator"], "search": {"kind": "none"}}
    features = build_feature_pipeline(credit, base_params["data"], base_params["features"])
    return train_model(credit, features, base_params["data"], training)[0]


def test_scores_keep_inputs_and_add_probabilities(model, credit):
    new = credit.drop(columns="Status").head(30)
    scored = score_new_data(model, new, {"chunk_rows": 1000})
    assert list(scored.columns[: new.shape[1]]) == list(new.columns)
    assert {"prediction", "proba_bad", "proba_good"} <= set(scored.columns)
    assert (scored["proba_bad"] + scored["proba_good"]).round(6).eq(1).all()


def test_chunked_scoring_equals_whole(model, credit):
    new = credit.drop(columns="Status").head(101)
    whole = score_new_data(model, new, {"chunk_rows": 1000})
    chunked = score_new_data(model, new, {"chunk_rows": 7})
    pd.testing.assert_frame_equal(whole, chunked)


def test_scores_match_the_whole_pipeline(model, credit):
    # Scoring runs the preprocessing once and calls the final estimator: same answers as the pipeline.
    new = credit.drop(columns="Status").head(200)
    scored = score_new_data(model, new, {"chunk_rows": 1000})
    assert (scored["prediction"].to_numpy() == model.predict(new)).all()
    proba = model.predict_proba(new)
    for index, label in enumerate(model.classes_):
        assert scored[f"proba_{label}"].to_numpy() == pytest.approx(proba[:, index])
