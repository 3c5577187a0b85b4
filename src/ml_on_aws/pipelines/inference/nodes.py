"""Batch scoring of new data with the saved model."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from ml_on_aws.core.config import InferenceConfig, parse
from ml_on_aws.core.predictions import predict_in_chunks
from ml_on_aws.pipelines.feature_engineering.compiled import batch_predictor

logger = logging.getLogger(__name__)
# Rows on which the compiled path must give scikit-learn's answers before it scores the table.
_CHECKED_ROWS = 2_000


def score_new_data(model: Pipeline, new_data: pd.DataFrame, inference_params: dict[str, Any]) -> pd.DataFrame:
    """The new rows with ``prediction`` (and class probabilities) added."""
    inference = parse(InferenceConfig, inference_params, "inference")
    predict = batch_predictor(model, new_data.head(_CHECKED_ROWS)) if inference.compiled and len(new_data) else None
    scored = predict_in_chunks(model, new_data, inference.chunk_rows, predict)
    logger.info("Scored %d new rows.", len(scored))
    if not inference.keep_input_columns:
        return scored
    return pd.concat([new_data, scored], axis=1)
