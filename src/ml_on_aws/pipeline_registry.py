"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from ml_on_aws.pipelines import (
    data_validation,
    drift,
    evaluation,
    feature_engineering,
    inference,
    monitoring,
    registry,
    training,
)

# Variants of the training run (the SageMaker training job selects them by input channel).
WITH_TEST_DATA = "with_test_data"
TRAINING_DRIFT = "training_drift"
# What a SageMaker training job runs: the training run without batch scoring (a training job has
# no new data), named after the optional input channels the job has (training_job_name()).
TRAINING_JOB = "training_job"


def training_job_name(test_data: bool, reference: bool) -> str:
    """The registered pipeline of a training job with (or without) a ``test`` and a ``reference`` channel."""
    return TRAINING_JOB + ("_with_test_data" if test_data else "") + ("_and_drift" if reference else "")


def register_pipelines() -> dict[str, Pipeline]:
    """The stages by name; ``__default__`` runs them in order, raw data to predictions.

    Validation comes first: feature engineering and batch inference read the tables only
    through its gates (``validated_raw_data``, ``validated_new_data``), so a critical failure
    stops the run before anything is computed or written from bad data.

    ``with_test_data`` is ``__default__`` with a test table held out apart (``test_data``),
    validated like ``raw_data`` and taken as the test set instead of a split of ``raw_data``.
    ``drift`` validates ``new_data`` like batch inference does before comparing it with the
    training rows: statistics of a table that breaks a critical expectation would mislead.
    ``training_drift`` compares the validated training table with ``production_reference_data``
    (the reference rows of the model in production): the same comparison with its reference
    renamed, so it is never confused with the ``reference_data`` a training run writes.

    ``monitoring`` reads an endpoint's captured requests (``captured_data``) instead of a batch:
    not validated (live traffic is what clients sent; what cannot be read is counted), compared
    with the current model's reference rows and test predictions. Not in ``__default__``.

    ``training_job*`` are the training runs of a SageMaker training job (:func:`training_job_name`):
    ``__default__`` or ``with_test_data`` without batch scoring, plus ``training_drift`` when the job
    has a reference.
    """
    validate_raw = data_validation.pipeline.create_pipeline()
    validate_new = data_validation.pipeline.create_new_data_pipeline()
    validate_test = data_validation.pipeline.create_test_data_pipeline()
    features = feature_engineering.pipeline.create_pipeline()
    features_with_test_data = feature_engineering.pipeline.create_given_test_set_pipeline()
    scoring = inference.pipeline.create_pipeline()
    column_drift = drift.pipeline.create_pipeline()
    gated_features = Pipeline(features, inputs={"raw_data": "validated_raw_data"})
    gated_features_with_test_data = Pipeline(
        features_with_test_data, inputs={"raw_data": "validated_raw_data", "test_data": "validated_test_data"}
    )
    gated_scoring = Pipeline(scoring, inputs={"new_data": "validated_new_data"})
    pipelines = {
        "data_validation": validate_raw + validate_new,
        "feature_engineering": features,
        "feature_engineering_with_test_data": features_with_test_data,
        "training": training.pipeline.create_pipeline(),
        "evaluation": evaluation.pipeline.create_pipeline(),
        "registry": registry.pipeline.create_pipeline(),
        "inference": validate_new + gated_scoring,
        "drift": validate_new + Pipeline(column_drift, inputs={"new_data": "validated_new_data"}),
        "monitoring": monitoring.pipeline.create_pipeline(),
    }

    def end_to_end(validated_features: Pipeline) -> Pipeline:
        return (
            pipelines["data_validation"]
            + validated_features
            + pipelines["training"]
            + pipelines["evaluation"]
            + pipelines["registry"]
            + gated_scoring
        )

    pipelines["__default__"] = end_to_end(gated_features)
    pipelines[WITH_TEST_DATA] = end_to_end(validate_test + gated_features_with_test_data)
    pipelines[TRAINING_DRIFT] = validate_raw + Pipeline(
        column_drift, inputs={"new_data": "validated_raw_data", "reference_data": "production_reference_data"}
    )

    def training_job(validated_features: Pipeline) -> Pipeline:
        return validate_raw + validated_features + pipelines["training"] + pipelines["evaluation"] + pipelines["registry"]

    for test_data, job_features in ((False, gated_features), (True, validate_test + gated_features_with_test_data)):
        pipelines[training_job_name(test_data, reference=False)] = training_job(job_features)
        pipelines[training_job_name(test_data, reference=True)] = training_job(job_features) + pipelines[TRAINING_DRIFT]
    return pipelines
