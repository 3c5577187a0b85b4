"""Fit the preprocessing and the estimator as one tuned model."""

from kedro.pipeline import Pipeline, node

from .nodes import train_model


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                func=train_model,
                inputs=["train_set", "feature_pipeline", "params:data", "params:training"],
                outputs=["model", "cv_results"],
                name="train_model",
            ),
        ]
    )
