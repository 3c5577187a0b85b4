"""Check and validate the training table, a given test table and the new data, each before anything uses it."""

from collections.abc import Callable

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.stages import as_stage

from .nodes import (
    check_new_data,
    check_test_data,
    check_training_data,
    stop_on_critical_failures,
    validate_new_data,
    validate_test_data,
    validate_training_data,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Training-table validation: feeds ``validated_raw_data`` to feature engineering."""
    return _check_validate_then_gate(
        "raw_data", check_training_data, validate_training_data,
        check_inputs=["params:data", "params:training", "params:evaluation"],
    )


def create_new_data_pipeline(**kwargs) -> Pipeline:
    """New-data validation: feeds ``validated_new_data`` to batch inference."""
    return _check_validate_then_gate("new_data", check_new_data, validate_new_data, validate_inputs=["params:data"])


def create_test_data_pipeline(**kwargs) -> Pipeline:
    """Validation of a test table given apart: feeds ``validated_test_data`` to feature engineering."""
    return _check_validate_then_gate("test_data", check_test_data, validate_test_data)


def _check_validate_then_gate(
    dataset: str, check: Callable, validate: Callable, check_inputs: list[str] | None = None,
    validate_inputs: list[str] | None = None,
) -> Pipeline:
    """``check_<dataset>`` reads the table once and stops on text that did not decode or a target
    that does not fit the parameters (``checked_<dataset>``, the same table, in memory); then
    ``<dataset>_validation`` and ``_data_docs``; then ``validated_<dataset>`` only if no critical
    expectation failed (a separate node, so the reports are saved before a stop).

    The check nodes need nothing but the raw tables and parameters: they run before any node
    that writes a file, so a table or setting they refuse leaves nothing behind.
    """
    checked = f"checked_{dataset}"
    return as_stage("data_validation", Pipeline(
        [
            node(
                func=check,
                inputs=[dataset, *(check_inputs or [])],
                outputs=checked,
                name=f"check_{dataset}",
            ),
            node(
                func=validate,
                inputs=[checked, "expectation_suite", "params:validation", *(validate_inputs or [])],
                outputs=[f"{dataset}_validation", f"{dataset}_data_docs"],
                name=f"validate_{dataset}",
            ),
            node(
                func=stop_on_critical_failures,
                inputs=[checked, f"{dataset}_validation"],
                outputs=f"validated_{dataset}",
                name=f"gate_{dataset}",
            ),
        ]
    ))
