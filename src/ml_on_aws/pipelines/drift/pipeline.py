"""Compare ``new_data`` with ``reference_data`` (the current model's training rows)."""

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.drift_statistics import (
    assess_drift,
    compute_column_drift,
    kl_divergence_by_column,
)
from ml_on_aws.pipelines.stages import as_stage

from .nodes import render_drift_summary


def create_pipeline(**kwargs) -> Pipeline:
    return as_stage("drift", Pipeline(
        [
            node(
                func=compute_column_drift,
                inputs=["reference_data", "new_data", "params:data", "params:drift"],
                outputs="drift_column_statistics",
                name="compute_column_drift",
            ),
            node(
                func=kl_divergence_by_column,
                inputs=["reference_data", "new_data", "params:data", "params:drift"],
                outputs="drift_kl_divergences",
                name="kl_divergence_by_column",
            ),
            node(
                func=assess_drift,
                inputs=["drift_column_statistics", "drift_kl_divergences", "params:drift"],
                outputs=["drift_report", "retrain_signal"],
                name="assess_drift",
            ),
            node(
                func=render_drift_summary,
                inputs="drift_report",
                outputs="drift_summary",
                name="render_drift_summary",
            ),
        ]
    ))
