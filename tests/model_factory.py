"""A small trained project model, built by calling the pipeline nodes in-process (seconds)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ml_on_aws.pipelines.evaluation.nodes import apply_quality_gate, evaluate_model
from ml_on_aws.pipelines.feature_engineering.nodes import (
    build_feature_pipeline,
    drop_rows_without_target,
    split_data,
)
from ml_on_aws.pipelines.registry.nodes import package_model
from ml_on_aws.pipelines.training.nodes import train_model

from .conftest import PROJECT_ROOT


def base_parameters() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "conf" / "base" / "parameters.yml").read_text())


def train_small(max_iter: int = 30, **estimator_kwargs: Any) -> tuple[Any, dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """A HistGradientBoosting model on the bundled credit data, without a search."""
    params = base_parameters()
    training = copy.deepcopy(params["training"])
    training["search"]["kind"] = "none"
    training["estimator"]["kwargs"].update(max_iter=max_iter, **estimator_kwargs)
    raw = pd.read_csv(PROJECT_ROOT / "data" / "01_raw" / "credit_data.csv")
    train, test = split_data(drop_rows_without_target(raw, params["data"]), params["data"], params["split"])
    features = build_feature_pipeline(train, params["data"], params["features"])
    model, _ = train_model(train, features, params["data"], training)
    return model, params, train, test


def package_small(model: Any, params: dict[str, Any], train: pd.DataFrame, test: pd.DataFrame):
    report = evaluate_model(model, train, test, params["data"], params["evaluation"])
    status = apply_quality_gate(report, params["evaluation"])
    return package_model(model, train, report, status, params["data"], params["registry"], test), status


def write_model_dir(destination: Path) -> Path:
    from ml_on_aws.datasets import MlflowModelDirectoryDataset

    model, params, train, test = train_small()
    package, _ = package_small(model, params, train, test)
    MlflowModelDirectoryDataset(filepath=str(destination)).save(package)
    return destination
