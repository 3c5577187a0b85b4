"""Validate the training table, a given test table and the new data, each before anything uses it."""

from collections.abc import Callable

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.stages import as_stage

from .nodes import (
    stop_on_critical_failures,
    validate_new_data,
    validate_test_data,
    validate_training_data,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Training-table validation: feeds ``validated_raw_data`` to feature engineering."""
    return _validate_then_gate("raw_data", validate_training_data)


def create_new_data_pipeline(**kwargs) -> Pipeline:
    """New-data validation: feeds ``validated_new_data`` to batch inference."""
    return _validate_then_gate("new_data", validate_new_data, extra_inputs=["params:data"])


def create_test_data_pipeline(**kwargs) -> Pipeline:
    """Validation of a test table given apart: feeds ``validated_test_data`` to feature engineering."""
    return _validate_then_gate("test_data", validate_test_data)


def _validate_then_gate(dataset: str, validate: Callable, extra_inputs: list[str] | None = None) -> Pipeline:
    """``<dataset>_validation`` and ``_data_docs``, then ``validated_<dataset>`` only if no
    critical expectation failed (a separate node, so the reports are saved before a stop)."""
    return as_stage("data_validation", Pipeline(
        [
            node(
                func=validate,
                inputs=[dataset, "expectation_suite", "params:validation", *(extra_inputs or [])],
                outputs=[f"{dataset}_validation", f"{dataset}_data_docs"],
                name=f"validate_{dataset}",
            ),
            node(
                func=stop_on_critical_failures,
                inputs=[dataset, f"{dataset}_validation"],
                outputs=f"validated_{dataset}",
                name=f"gate_{dataset}",
            ),
        ]
    ))
