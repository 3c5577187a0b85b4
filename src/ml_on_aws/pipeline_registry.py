"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from ml_on_aws.pipelines import (
    data_validation,
    drift,
    evaluation,
    feature_engineering,
    inference,
    registry,
    training,
)


def register_pipelines() -> dict[str, Pipeline]:
    """The stages by name; ``__default__`` runs them in order, raw data to predictions.

    Validation comes first: feature engineering and batch inference read the tables only
    through its gates (``validated_raw_data``, ``validated_new_data``), so a critical failure
    stops the run before anything is computed or written from bad data.
    """
    validate_raw = data_validation.pipeline.create_pipeline()
    validate_new = data_validation.pipeline.create_new_data_pipeline()
    features = feature_engineering.pipeline.create_pipeline()
    scoring = inference.pipeline.create_pipeline()
    gated_features = Pipeline(features, inputs={"raw_data": "validated_raw_data"})
    gated_scoring = Pipeline(scoring, inputs={"new_data": "validated_new_data"})
    pipelines = {
        "data_validation": validate_raw + validate_new,
        "feature_engineering": features,
        "training": training.pipeline.create_pipeline(),
        "evaluation": evaluation.pipeline.create_pipeline(),
        "registry": registry.pipeline.create_pipeline(),
        "inference": validate_new + gated_scoring,
        "drift": drift.pipeline.create_pipeline(),
    }
    pipelines["__default__"] = (
        pipelines["data_validation"]
        + gated_features
        + pipelines["training"]
        + pipelines["evaluation"]
        + pipelines["registry"]
        + gated_scoring
    )
    return pipelines
