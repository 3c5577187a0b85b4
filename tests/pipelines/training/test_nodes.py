import numpy as np
import pandas as pd
import pytest

from ml_on_aws.core.config import ConfigurationError, EstimatorConfig
from ml_on_aws.pipelines.feature_engineering.nodes import build_feature_pipeline
from ml_on_aws.pipelines.training.estimators import make_estimator, search_space
from ml_on_aws.pipelines.training.nodes import train_model


def test_supervised_search_returns_one_fitted_pipeline(credit, base_params, fast_training):
    features = build_feature_pipeline(credit, base_params["data"], base_params["features"])
    model, cv_results = train_model(credit, features, base_params["data"], fast_training)
    assert [name for name, _ in model.steps] == ["columns", "derive", "preprocess", "model"]
    assert len(cv_results) == 2 and cv_results["rank_test_score"].min() == 1
    assert "model__" not in cv_results["params"].iloc[0]
    # The model takes raw columns, target excluded, and predicts the known labels.
    assert set(model.predict(credit.drop(columns="Status").head(20))) <= {"good", "bad"}


def test_clustering_picks_a_candidate_that_predicts(credit, base_params):
    data = {**base_params["data"], "task": "clustering", "target": None, "positive_label": None,
            "drop_columns": ["Status"]}
    training = {**base_params["training"], "clustering": {"silhouette_sample_size": 300, "candidates": [
        {"estimator": {"class": "sklearn.cluster.KMeans", "kwargs": {"n_init": 3, "random_state": 0}},
         "space": {"n_clusters": [2, 3]}},
        {"estimator": {"class": "sklearn.cluster.AgglomerativeClustering"}, "space": {"n_clusters": [2]}},
    ]}}
    features = build_feature_pipeline(credit, data, base_params["features"])
    model, table = train_model(credit, features, data, training)
    assert len(table) == 3 and table["silhouette"].iloc[0] == table["silhouette"].max()
    labels = model.predict(credit)  # agglomerative included: every candidate can predict
    assert len(labels) == len(credit) and len(set(labels)) >= 2
    # Each row's cluster depends on the row alone, not on the batch it comes in.
    assert (model.predict(credit.head(50)) == labels[:50]).all()


def test_unknown_estimator_path_is_named():
    with pytest.raises(ConfigurationError, match="sklearn.ensemble.NoSuchModel"):
        make_estimator(EstimatorConfig.model_validate({"class": "sklearn.ensemble.NoSuchModel"}))


def test_search_space_prefixes_and_builds_distributions():
    space = search_space({"alpha": [1, 2], "lr": {"distribution": "loguniform", "low": 0.01, "high": 1}}, "model")
    assert space["model__alpha"] == [1, 2]
    draws = space["model__lr"].rvs(size=200, random_state=np.random.default_rng(0))
    assert 0.01 <= draws.min() and draws.max() <= 1


def test_clustering_without_candidates_is_a_configuration_error(credit, base_params):
    data = {**base_params["data"], "task": "clustering", "target": None, "positive_label": None}
    features = build_feature_pipeline(credit, data, base_params["features"])
    with pytest.raises(ConfigurationError, match="training.clustering"):
        train_model(pd.DataFrame(credit), features, data, base_params["training"])


def test_the_search_logs_a_line_per_finished_candidate(credit, base_params, fast_training, caplog):
    features = build_feature_pipeline(credit, base_params["data"], base_params["features"])
    training = {**fast_training, "search": {**fast_training["search"], "n_iter": 3, "scoring": None}}
    with caplog.at_level("INFO", logger="ml_on_aws.pipelines.training"):
        train_model(credit, features, base_params["data"], training)
    lines = [r.getMessage() for r in caplog.records if "Search candidate" in r.getMessage()]
    assert [line.split(":")[0] for line in lines] == [f"Search candidate {i}/3" for i in (1, 2, 3)]
    assert "roc_auc" in lines[0] and "2 left" in lines[0] and lines[-1].endswith(".")
    assert any("scoring=roc_auc (the task's default)" in r.getMessage() for r in caplog.records)


def test_multiclass_search_defaults_to_roc_auc_ovr_and_refuses_nan_scores(credit, base_params, fast_training):
    three = credit.assign(Status=np.where(credit["Age"] < 30, "young", np.where(credit["Age"] < 45, "mid", "old")))
    data = {**base_params["data"], "positive_label": None}
    features = build_feature_pipeline(three, data, base_params["features"])
    training = {**fast_training, "search": {**fast_training["search"], "scoring": None}}
    _, table = train_model(three, features, data, training)
    assert table["mean_test_score"].notna().all()
    nan_scoring = {**fast_training, "search": {**fast_training["search"], "scoring": "roc_auc"}}
    with pytest.raises(ConfigurationError, match="training.search.scoring"):
        train_model(three, features, data, nan_scoring)


def test_search_batches_fill_the_workers_and_still_log_every_candidate(credit, base_params, fast_training, caplog):
    from ml_on_aws.pipelines.training.progress import _batch_size

    assert [_batch_size(1, 3), _batch_size(2, 5), _batch_size(4, 2), _batch_size(8, 3)] == [1, 1, 2, 3]
    features = build_feature_pipeline(credit, base_params["data"], base_params["features"])
    search = {**fast_training["search"], "n_iter": 3, "cv": 2, "n_jobs": 4, "scoring": None}
    with caplog.at_level("INFO", logger="ml_on_aws.pipelines.training"):
        _, table = train_model(credit, features, base_params["data"], {**fast_training, "search": search})
    lines = [r.getMessage() for r in caplog.records if "Search candidate" in r.getMessage()]
    assert [line.split(":")[0] for line in lines] == [f"Search candidate {i}/3" for i in (1, 2, 3)]
    # Two candidates in the first batch: the estimate of what is left comes after the batch.
    assert "left" not in lines[0] and "1 left" in lines[1] and len(table) == 3
