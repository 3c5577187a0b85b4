"""Evaluation figures. matplotlib is imported here only, when a plot is drawn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ml_on_aws.pipelines.shared import pyplot as _pyplot


def roc_curves(model: Pipeline, X: pd.DataFrame, y: pd.Series, positive: Any) -> Any:
    from sklearn.metrics import RocCurveDisplay

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    proba = model.predict_proba(X)
    classes = list(model.classes_)
    shown = [positive] if len(classes) == 2 else classes
    for label in shown:
        RocCurveDisplay.from_predictions(
            y == label, proba[:, classes.index(label)], name=f"{label} vs rest", ax=ax
        )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_title("ROC curve (test set)")
    fig.tight_layout()
    return fig


def confusion_matrix(labels: list[str], matrix: list[list[int]]) -> Any:
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=labels).plot(ax=ax, colorbar=False)
    ax.set_title("Confusion matrix (test set)")
    fig.tight_layout()
    return fig


def residuals(y: pd.Series, predicted: np.ndarray) -> Any:
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.scatter(y, predicted, s=6, alpha=0.4)
    lims = [min(y.min(), predicted.min()), max(y.max(), predicted.max())]
    left.plot(lims, lims, linestyle="--", color="grey")
    left.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (test set)")
    right.scatter(predicted, y - predicted, s=6, alpha=0.4)
    right.axhline(0, linestyle="--", color="grey")
    right.set(xlabel="predicted", ylabel="residual", title="Residuals (test set)")
    fig.tight_layout()
    return fig


def learning_curve(curve: pd.DataFrame, metric: str) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for split, colour in (("train", "tab:blue"), ("validation", "tab:orange")):
        mean, std = curve[f"{split}_mean"], curve[f"{split}_std"]
        ax.plot(curve["train_size"], mean, marker="o", color=colour, label=split)
        ax.fill_between(curve["train_size"], mean - std, mean + std, color=colour, alpha=0.15)
    ax.set(xlabel="training rows", ylabel=metric, title="Learning curve")
    ax.legend()
    fig.tight_layout()
    return fig


def feature_importances(importances: pd.DataFrame, top: int = 20) -> Any:
    plt = _pyplot()
    shown = importances.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(shown) + 1.5))
    ax.barh(shown["feature"], shown["importance_mean"], xerr=shown["importance_std"], color="tab:blue")
    ax.set(xlabel="drop in score when shuffled", title="Permutation importance (test set)")
    fig.tight_layout()
    return fig


def cluster_sizes(sizes: dict[str, int]) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(list(sizes), list(sizes.values()), color="tab:blue")
    ax.set(xlabel="cluster", ylabel="rows", title="Cluster sizes (test set)")
    fig.tight_layout()
    return fig


def cluster_projection(features: np.ndarray, labels: np.ndarray) -> Any:
    from sklearn.decomposition import PCA

    plt = _pyplot()
    points = PCA(n_components=2, random_state=0).fit_transform(features)
    fig, ax = plt.subplots(figsize=(6, 5))
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, s=6, cmap="tab10", alpha=0.6)
    ax.legend(*scatter.legend_elements(), title="cluster", loc="best", fontsize="small")
    ax.set(xlabel="PC 1", ylabel="PC 2", title="Clusters on the first two principal components")
    fig.tight_layout()
    return fig
