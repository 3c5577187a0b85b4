"""Estimators named in YAML by import path, search spaces, and clusterers that can predict."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.neighbors import KNeighborsClassifier

from ml_on_aws.core.config import ConfigurationError, EstimatorConfig

_DISTRIBUTIONS = {"uniform": stats.uniform, "loguniform": stats.loguniform, "randint": stats.randint}


def make_estimator(spec: EstimatorConfig) -> BaseEstimator:
    """Instantiate ``spec.class_path`` (``package.module.Class``) with ``spec.kwargs``."""
    module_name, _, class_name = spec.class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigurationError(
            f"Estimator class '{spec.class_path}' cannot be imported; give a full import path "
            "such as sklearn.ensemble.RandomForestClassifier."
        ) from None
    try:
        return cls(**spec.kwargs)
    except TypeError as exc:
        raise ConfigurationError(f"Estimator '{spec.class_path}' rejects its kwargs: {exc}") from None


def search_space(space: dict[str, Any], step: str) -> dict[str, Any]:
    """Prefix hyperparameters with the pipeline step; turn ``{distribution: ...}`` into scipy ones.

    A list is a set of choices; ``{distribution: loguniform, low: 0.01, high: 1}`` samples.
    """
    out = {}
    for name, values in space.items():
        if isinstance(values, dict):
            kind = values.get("distribution")
            if kind not in _DISTRIBUTIONS:
                raise ConfigurationError(
                    f"Search space '{name}': distribution must be one of {sorted(_DISTRIBUTIONS)}."
                )
            low, high = values["low"], values["high"]
            values = (
                stats.uniform(low, high - low) if kind == "uniform" else _DISTRIBUTIONS[kind](low, high)
            )
        out[f"{step}__{name}"] = values
    return out


class InductiveClusterer(ClusterMixin, BaseEstimator):
    """Give clusterers without ``predict`` (DBSCAN, agglomerative) one for new rows.

    New rows take the label of their nearest training rows, as in scikit-learn's
    inductive clustering example.
    """

    def __init__(self, clusterer: BaseEstimator, n_neighbors: int = 5):
        self.clusterer = clusterer
        self.n_neighbors = n_neighbors

    def fit(self, X: Any, y: Any = None) -> InductiveClusterer:
        self.clusterer_ = clone(self.clusterer)
        self.labels_ = np.asarray(self.clusterer_.fit_predict(X))
        neighbours = min(self.n_neighbors, len(self.labels_))
        self.classifier_ = KNeighborsClassifier(n_neighbors=neighbours).fit(X, self.labels_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.classifier_.predict(X)
