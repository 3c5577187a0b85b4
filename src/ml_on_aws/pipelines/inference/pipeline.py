"""Score a new-data table with the saved model."""

from kedro.pipeline import Pipeline, node

from .nodes import score_new_data


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                func=score_new_data,
                inputs=["model", "new_data", "params:inference"],
                outputs="predictions",
                name="score_new_data",
            ),
        ]
    )
