"""Clean the raw table, split it (or take a given test table), and declare the feature transforms."""

from kedro.pipeline import Node, Pipeline, node

from ml_on_aws.pipelines.stages import as_stage

from .nodes import build_feature_pipeline, drop_rows_without_target, prepare_test_set, split_data


def create_pipeline(**kwargs) -> Pipeline:
    """The test set is a split of ``raw_data`` (``split`` parameters)."""
    return as_stage("feature_engineering", Pipeline(
        [
            _drop_rows_without_target(output="labelled_data"),
            node(
                func=split_data,
                inputs=["labelled_data", "params:data", "params:split"],
                outputs=["train_set", "test_set"],
                name="split_data",
            ),
            _build_feature_pipeline(),
        ]
    ))


def create_given_test_set_pipeline(**kwargs) -> Pipeline:
    """All of ``raw_data`` trains; ``test_data``, a table held out apart, is the test set."""
    return as_stage("feature_engineering", Pipeline(
        [
            _drop_rows_without_target(output="train_set"),
            node(
                func=prepare_test_set,
                inputs=["test_data", "train_set", "params:data"],
                outputs="test_set",
                name="prepare_test_set",
            ),
            _build_feature_pipeline(),
        ]
    ))


def _drop_rows_without_target(output: str) -> Node:
    return node(
        func=drop_rows_without_target,
        inputs=["raw_data", "params:data"],
        outputs=output,
        name="drop_rows_without_target",
    )


def _build_feature_pipeline() -> Node:
    return node(
        func=build_feature_pipeline,
        inputs=["train_set", "params:data", "params:features"],
        outputs="feature_pipeline",
        name="build_feature_pipeline",
    )
