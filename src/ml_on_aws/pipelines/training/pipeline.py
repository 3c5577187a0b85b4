"""Fit the preprocessing and the estimator as one tuned model."""

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.stages import as_stage

from .nodes import select_reference_data, train_model


def create_pipeline(**kwargs) -> Pipeline:
    return as_stage("training", Pipeline(
        [
            node(
                func=train_model,
                inputs=["train_set", "feature_pipeline", "params:data", "params:training"],
                outputs=["model", "cv_results"],
                name="train_model",
            ),
            # Saved with the model's version: the drift pipeline compares new batches with it.
            node(
                func=select_reference_data,
                inputs=["train_set", "params:drift"],
                outputs="reference_data",
                name="select_reference_data",
            ),
        ]
    ))
