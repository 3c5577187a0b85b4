"""Nodes that clean the raw table, split it, and declare the feature transforms."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from ml_on_aws.config import ConfigurationError, DataConfig, FeatureConfig, SplitConfig, parse
from ml_on_aws.pipelines.feature_engineering.columns import resolve_feature_columns
from ml_on_aws.pipelines.feature_engineering.transformers import build_feature_steps

logger = logging.getLogger(__name__)


def drop_rows_without_target(raw: pd.DataFrame, data_params: dict[str, Any]) -> pd.DataFrame:
    """Rows without a label cannot teach a supervised model; clustering keeps every row."""
    data = parse(DataConfig, data_params, "data")
    if not data.target or data.target not in raw.columns:
        return raw
    labelled = raw[raw[data.target].notna()]
    dropped = len(raw) - len(labelled)
    if dropped:
        logger.warning("Dropped %d of %d rows with no value in target '%s'.", dropped, len(raw), data.target)
    if labelled.empty:
        raise ConfigurationError(f"Every row has an empty target '{data.target}': nothing to train on.")
    return labelled


def split_data(
    table: pd.DataFrame, data_params: dict[str, Any], split_params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a test set; stratified on the target for classification."""
    data = parse(DataConfig, data_params, "data")
    split = parse(SplitConfig, split_params, "split")
    stratify = None
    if data.task == "classification" and split.stratify:
        counts = table[data.target].value_counts()
        if counts.min() >= 2:
            stratify = table[data.target]
        else:
            logger.warning("Not stratifying: class(es) %s have a single row.", list(counts[counts < 2].index))
    train, test = train_test_split(
        table, test_size=split.test_size, random_state=split.random_state, stratify=stratify
    )
    logger.info("Split %d rows into %d train and %d test rows.", len(table), len(train), len(test))
    return train, test


def build_feature_pipeline(
    train: pd.DataFrame, data_params: dict[str, Any], feature_params: dict[str, Any]
) -> Pipeline:
    """The unfitted transform steps (type coercion, derived features, impute, encode, scale).

    Training appends the estimator and fits the whole pipeline, so serving gets one object.
    """
    data = parse(DataConfig, data_params, "data")
    features = parse(FeatureConfig, feature_params, "features")
    columns = resolve_feature_columns(train.dtypes, data)
    for spec in features.derived:
        unknown = [c for c in spec.columns if c not in columns.all]
        if unknown:
            raise ConfigurationError(
                f"Derived feature '{spec.name}' uses column(s) {unknown} that are not features; "
                "fix features.derived in the parameters."
            )
        if spec.kind in ("ratio", "difference", "product") and len(spec.columns) != 2:
            raise ConfigurationError(f"Derived feature '{spec.name}' ({spec.kind}) needs exactly two columns.")
    logger.info(
        "Features: %d numeric %s, %d categorical %s, %d derived.",
        len(columns.numeric), columns.numeric, len(columns.categorical), columns.categorical,
        len(features.derived),
    )
    return Pipeline(build_feature_steps(columns, features))
