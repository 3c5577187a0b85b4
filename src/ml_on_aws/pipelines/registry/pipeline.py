"""Publish the evaluated model: metrics to the MLflow run, the model folder, a registry version."""

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.stages import as_stage

from .nodes import decide_release, flatten_metrics, package_model


def create_pipeline(**kwargs) -> Pipeline:
    return as_stage("registry", Pipeline(
        [
            node(
                func=flatten_metrics,
                inputs=["evaluation_report", "cv_results"],
                outputs="evaluation_metrics",
                name="flatten_metrics",
            ),
            node(
                func=package_model,
                inputs=["model", "train_set", "evaluation_report", "model_status", "params:data", "params:registry",
                        "test_set"],
                outputs="mlflow_model",
                name="package_model",
            ),
            node(
                func=decide_release,
                inputs=["mlflow_model", "champion_model", "test_set", "model_status", "params:data", "params:evaluation"],
                outputs=["registered_model", "release_decision"],
                name="decide_release",
            ),
        ]
    ))
