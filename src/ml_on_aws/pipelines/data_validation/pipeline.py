"""Validate the training table and the new data, each before anything uses it."""

from kedro.pipeline import Pipeline, node

from .nodes import stop_on_critical_failures, validate_new_data, validate_training_data


def create_pipeline(**kwargs) -> Pipeline:
    """Training-table validation: feeds ``validated_raw_data`` to feature engineering."""
    return Pipeline(
        [
            node(
                func=validate_training_data,
                inputs=["raw_data", "expectation_suite", "params:validation"],
                outputs=["raw_data_validation", "raw_data_data_docs"],
                name="validate_raw_data",
            ),
            node(
                func=stop_on_critical_failures,
                inputs=["raw_data", "raw_data_validation"],
                outputs="validated_raw_data",
                name="gate_raw_data",
            ),
        ]
    )


def create_new_data_pipeline(**kwargs) -> Pipeline:
    """New-data validation: feeds ``validated_new_data`` to batch inference."""
    return Pipeline(
        [
            node(
                func=validate_new_data,
                inputs=["new_data", "expectation_suite", "params:validation"],
                outputs=["new_data_validation", "new_data_data_docs"],
                name="validate_new_data",
            ),
            node(
                func=stop_on_critical_failures,
                inputs=["new_data", "new_data_validation"],
                outputs="validated_new_data",
                name="gate_new_data",
            ),
        ]
    )
