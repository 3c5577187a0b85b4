"""Nodes that fit the model: a cross-validated search, or a silhouette-ranked clustering."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline

from ml_on_aws.core.config import (
    ClusteringConfig,
    ConfigurationError,
    DataConfig,
    DriftConfig,
    TrainingConfig,
    parse,
)
from ml_on_aws.pipelines.shared import features_and_target
from ml_on_aws.pipelines.training.estimators import InductiveClusterer, make_estimator, search_space
from ml_on_aws.pipelines.training.progress import ProgressGridSearchCV, ProgressRandomizedSearchCV
from ml_on_aws.pipelines.training.scoring import default_scoring

logger = logging.getLogger(__name__)


def train_model(
    train: pd.DataFrame,
    feature_pipeline: Pipeline,
    data_params: dict[str, Any],
    training_params: dict[str, Any],
) -> tuple[Pipeline, pd.DataFrame]:
    """Fit the feature steps and the estimator as one pipeline; return it and the search table."""
    data = parse(DataConfig, data_params, "data")
    training = parse(TrainingConfig, training_params, "training")
    X, y = features_and_target(train, data)
    if data.task == "clustering":
        if training.clustering is None:
            raise ConfigurationError("Task 'clustering' needs training.clustering.candidates in the parameters.")
        return select_clusterer(X, feature_pipeline, training.clustering)
    return tune_supervised(X, y, feature_pipeline, training, data.task)


def tune_supervised(
    X: pd.DataFrame, y: pd.Series, feature_pipeline: Pipeline, training: TrainingConfig, task: str = "classification"
) -> tuple[Pipeline, pd.DataFrame]:
    model = Pipeline([*feature_pipeline.steps, ("model", make_estimator(training.estimator))])
    search = training.search
    space = search_space(search.space, "model")
    if search.kind == "none" or not space:
        logger.info("Fitting %s on %d rows without a search.", training.estimator.class_path, len(X))
        model.fit(X, y)
        # Header only: an empty CSV without columns cannot be read back by the next stage.
        return model, pd.DataFrame(columns=["params", "mean_test_score", "std_test_score", "rank_test_score"])
    scoring = search.scoring or default_scoring(task, y.nunique(), model.steps[-1][1])
    # Progress is logged per candidate here; scikit-learn's own lines only from verbose 2 on.
    common = dict(scoring=scoring, cv=search.cv, n_jobs=search.n_jobs, verbose=max(search.verbose - 1, 0), refit=True)
    if search.kind == "grid":
        tuner = ProgressGridSearchCV(model, space, **common)
    else:
        tuner = ProgressRandomizedSearchCV(
            model, space, n_iter=search.n_iter, random_state=search.random_state, **common
        )
    logger.info(
        "Tuning %s: %s search, %d-fold CV on %d rows, scoring=%s%s.",
        training.estimator.class_path, search.kind, search.cv, len(X), scoring,
        "" if search.scoring else " (the task's default)",
    )
    tuner.fit(X, y)
    if not np.isfinite(tuner.cv_results_["mean_test_score"]).any():
        raise ConfigurationError(
            f"Every search candidate scored NaN with scoring '{scoring}': it cannot score this task, or every "
            "fit failed (see the warnings above). Fix 'training.search.scoring' in the parameters."
        )
    logger.info("Best CV %s %.4f with %s.", scoring, tuner.best_score_, tuner.best_params_)
    return tuner.best_estimator_, _tidy_cv_results(tuner.cv_results_)


def _tidy_cv_results(cv_results: dict[str, Any]) -> pd.DataFrame:
    table = pd.DataFrame(cv_results)
    params = table.pop("params").map(lambda p: {k.removeprefix("model__"): v for k, v in p.items()})
    table = table[[c for c in table.columns if not c.startswith("param_")]]
    table.insert(0, "params", params.map(str))
    return table.sort_values("rank_test_score").reset_index(drop=True)


def select_clusterer(
    X: pd.DataFrame, feature_pipeline: Pipeline, clustering: ClusteringConfig
) -> tuple[Pipeline, pd.DataFrame]:
    """Try each candidate and setting; keep the one with the best silhouette score."""
    features = Pipeline(feature_pipeline.steps).fit(X)
    Xt = features.transform(X)
    rng = np.random.default_rng(clustering.random_state)
    # Agglomerative and DBSCAN are quadratic: every candidate is fitted on one shared sample.
    sample = min(clustering.silhouette_sample_size, len(Xt))
    fit_rows = Xt if len(Xt) <= sample else Xt[rng.choice(len(Xt), sample, replace=False)]
    rows, best = [], None
    for candidate in clustering.candidates:
        for params in ParameterGrid(candidate.space or {}):
            spec = candidate.estimator.model_copy(update={"kwargs": {**candidate.estimator.kwargs, **params}})
            estimator = make_estimator(spec)
            if not hasattr(estimator, "predict"):
                estimator = InductiveClusterer(estimator)
            labels = estimator.fit(fit_rows).predict(fit_rows)
            n_clusters = len(set(labels) - {-1})
            score = (
                float(silhouette_score(fit_rows, labels, random_state=clustering.random_state))
                if 1 < n_clusters < len(fit_rows) else float("nan")
            )
            logger.info("Clustering %s %s: %d clusters, silhouette %.4f.", spec.class_path, params, n_clusters, score)
            rows.append(
                {"estimator": spec.class_path, "params": str(params), "n_clusters": n_clusters,
                 "noise_fraction": float(np.mean(labels == -1)), "silhouette": score}
            )
            if not np.isnan(score) and (best is None or score > best[0]):
                best = (score, estimator)
    if best is None:
        raise ConfigurationError(
            "No clustering candidate found two or more clusters; widen training.clustering.candidates."
        )
    results = pd.DataFrame(rows).sort_values("silhouette", ascending=False, na_position="last")
    model = Pipeline([*features.steps, ("model", best[1])])
    return model, results.reset_index(drop=True)


def select_reference_data(train_set: pd.DataFrame, drift_params: dict[str, Any]) -> pd.DataFrame:
    """The training rows, sampled to a bounded size: what later batches are compared with."""
    drift = parse(DriftConfig, drift_params, "drift")
    if len(train_set) <= drift.reference_max_rows:
        return train_set
    return train_set.sample(n=drift.reference_max_rows, random_state=drift.random_state)
