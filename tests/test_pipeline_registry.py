"""The registered variants of the training run are built from the same stages as __default__."""

from __future__ import annotations

import pytest

from ml_on_aws.pipeline_registry import (
    TRAINING_DRIFT,
    WITH_TEST_DATA,
    register_pipelines,
    training_job_name,
)


@pytest.fixture(scope="module")
def pipelines():
    return register_pipelines()


def _consumers(pipeline, dataset: str) -> set[str]:
    return {node.name for node in pipeline.nodes if dataset in node.inputs}


def test_with_test_data_takes_the_given_table_as_test_set_instead_of_a_split(pipelines):
    default, variant = pipelines["__default__"], pipelines[WITH_TEST_DATA]
    assert "test_data" not in default.inputs()
    assert "feature_engineering.split_data" in {n.name for n in default.nodes}
    names = {n.name for n in variant.nodes}
    assert "feature_engineering.split_data" not in names and "feature_engineering.prepare_test_set" in names
    # The test table is read once, by its check node, and reaches feature engineering only through its gate.
    assert _consumers(variant, "test_data") == {"data_validation.check_test_data"}
    assert _consumers(variant, "checked_test_data") == {"data_validation.validate_test_data", "data_validation.gate_test_data"}
    assert _consumers(variant, "validated_test_data") == {"feature_engineering.prepare_test_set"}
    # Everything after feature engineering is the same.
    after = {n.name for n in pipelines["training"].nodes + pipelines["evaluation"].nodes + pipelines["registry"].nodes}
    assert after <= names


def test_training_drift_reads_the_production_reference_not_the_one_training_writes(pipelines):
    drift = pipelines[TRAINING_DRIFT]
    assert "production_reference_data" in drift.inputs() and "reference_data" not in drift.all_inputs()
    assert {"drift_report", "retrain_signal"} <= drift.all_outputs()
    assert _consumers(drift, "raw_data") == {"data_validation.check_raw_data"}
    # Run with either training pipeline, it shares the check and validation of the training table.
    shared = {"data_validation.check_raw_data", "data_validation.validate_raw_data", "data_validation.gate_raw_data"}
    assert shared <= {n.name for n in drift.nodes}
    for training in (pipelines["__default__"], pipelines[WITH_TEST_DATA]):
        combined = training + drift
        assert len(combined.nodes) == len(training.nodes) + len([n for n in drift.nodes if n.name not in shared])
        assert "reference_data" in combined.all_outputs() and "reference_data" not in combined.inputs()


def test_drift_compares_new_data_only_once_it_passed_validation(pipelines):
    drift = pipelines["drift"]
    assert _consumers(drift, "new_data") == {"data_validation.check_new_data"}
    assert _consumers(drift, "checked_new_data") == {"data_validation.validate_new_data", "data_validation.gate_new_data"}
    assert _consumers(drift, "validated_new_data") == {"drift.compute_column_drift", "drift.kl_divergence_by_column"}



@pytest.mark.parametrize("test_data", [False, True])
@pytest.mark.parametrize("reference", [False, True])
def test_a_training_job_runs_the_training_run_of_its_channels_without_batch_scoring(pipelines, test_data, reference):
    job = pipelines[training_job_name(test_data, reference)]
    run = pipelines[WITH_TEST_DATA if test_data else "__default__"]
    expected = {n.name for n in run.nodes} - {n.name for n in pipelines["inference"].nodes}
    if reference:
        expected |= {n.name for n in pipelines[TRAINING_DRIFT].nodes}
    assert {n.name for n in job.nodes} == expected
    assert "new_data" not in job.inputs() and "mlflow_model" in job.all_outputs()
    assert ("production_reference_data" in job.inputs()) == reference
    assert ("test_data" in job.inputs()) == test_data


RAW_TABLES = {"raw_data", "new_data", "test_data"}


def _validates(pipeline) -> bool:
    return any(node.namespace == "data_validation" for node in pipeline.nodes)


@pytest.mark.parametrize("name", sorted(name for name, pipeline in register_pipelines().items() if _validates(pipeline)))
def test_the_check_nodes_run_before_any_node_that_writes(pipelines, name):
    """A table or setting a check node refuses leaves no report, split or model behind: each raw
    table is read by its check node alone, and the check nodes are the first group the runner runs
    (they read only raw tables and parameters), with no other node."""
    pipeline = pipelines[name]
    for table in pipeline.inputs() & RAW_TABLES:
        assert _consumers(pipeline, table) == {f"data_validation.check_{table}"}, (name, table)
    first, *_ = pipeline.grouped_nodes
    assert {n.name for n in first} == {f"data_validation.check_{table}" for table in pipeline.inputs() & RAW_TABLES}

