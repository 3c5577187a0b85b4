"""Nodes that clean the raw table, split it, and declare the feature transforms."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from ml_on_aws.core.config import ConfigurationError, DataConfig, FeatureConfig, SplitConfig, parse
from ml_on_aws.pipelines.feature_engineering.columns import (
    check_derived_features,
    resolve_feature_columns,
)
from ml_on_aws.pipelines.feature_engineering.transformers import build_feature_steps

logger = logging.getLogger(__name__)


def drop_rows_without_target(raw: pd.DataFrame, data_params: dict[str, Any]) -> pd.DataFrame:
    """Rows without a label cannot teach a supervised model; clustering keeps every row."""
    data = parse(DataConfig, data_params, "data")
    labelled = _labelled_rows(raw, data, "training table")
    if labelled.empty:
        raise ConfigurationError(f"Every row has an empty target '{data.target}': nothing to train on.")
    return labelled


def prepare_test_set(test: pd.DataFrame, train: pd.DataFrame, data_params: dict[str, Any]) -> pd.DataFrame:
    """A test table given apart from the training table, cleaned the same way (rows without a
    target dropped) and with the training table's columns in their order, as the model was fitted.

    Columns the training table lacks are dropped; a training column missing here is an error.
    """
    data = parse(DataConfig, data_params, "data")
    missing = [c for c in train.columns if c not in test.columns]
    if missing:
        raise ConfigurationError(
            f"The test table lacks column(s) {missing} of the training table; give it the same columns "
            "(target included)."
        )
    extra = [c for c in test.columns if c not in train.columns]
    if extra:
        logger.warning("Ignoring test table column(s) %s that the training table does not have.", extra)
    labelled = _labelled_rows(test, data, "test table")
    if labelled.empty:
        raise ConfigurationError(f"The test table has no row with a value in target '{data.target}': nothing to test on.")
    logger.info("Testing on the %d rows of the given test table.", len(labelled))
    return labelled[list(train.columns)]


def _labelled_rows(table: pd.DataFrame, data: DataConfig, what: str) -> pd.DataFrame:
    if not data.target or data.target not in table.columns:
        return table
    labelled = table[table[data.target].notna()]
    dropped = len(table) - len(labelled)
    if dropped:
        logger.warning("Dropped %d of %d %s rows with no value in target '%s'.", dropped, len(table), what, data.target)
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
    check_derived_features(columns.all, data, features, "the parameters")
    logger.info(
        "Features: %d numeric %s, %d categorical %s, %d derived.",
        len(columns.numeric), columns.numeric, len(columns.categorical), columns.categorical,
        len(features.derived),
    )
    return Pipeline(build_feature_steps(columns, features))
