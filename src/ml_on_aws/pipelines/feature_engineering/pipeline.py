"""Clean the raw table, split it, and declare the feature transforms."""

from kedro.pipeline import Pipeline, node

from .nodes import build_feature_pipeline, drop_rows_without_target, split_data


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                func=drop_rows_without_target,
                inputs=["raw_data", "params:data"],
                outputs="labelled_data",
                name="drop_rows_without_target",
            ),
            node(
                func=split_data,
                inputs=["labelled_data", "params:data", "params:split"],
                outputs=["train_set", "test_set"],
                name="split_data",
            ),
            node(
                func=build_feature_pipeline,
                inputs=["train_set", "params:data", "params:features"],
                outputs="feature_pipeline",
                name="build_feature_pipeline",
            ),
        ]
    )

