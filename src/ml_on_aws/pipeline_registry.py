"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from ml_on_aws.pipelines import evaluation, feature_engineering, inference, registry, training


def register_pipelines() -> dict[str, Pipeline]:
    """The stages by name; ``__default__`` runs them in order, raw data to predictions."""
    pipelines = {
        "feature_engineering": feature_engineering.pipeline.create_pipeline(),
        "training": training.pipeline.create_pipeline(),
        "evaluation": evaluation.pipeline.create_pipeline(),
        "inference": inference.pipeline.create_pipeline(),
        "registry": registry.pipeline.create_pipeline(),
    }
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
