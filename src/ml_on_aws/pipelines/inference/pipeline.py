"""Score a new-data table with the saved model."""

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.stages import as_stage

from .nodes import score_new_data


def create_pipeline(**kwargs) -> Pipeline:
    return as_stage("inference", Pipeline(
        [
            node(
                func=score_new_data,
                inputs=["model", "new_data", "params:inference"],
                outputs="predictions",
                name="score_new_data",
            ),
        ]
    ))
