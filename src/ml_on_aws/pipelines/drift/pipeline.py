"""Compare ``new_data`` with ``reference_data`` (the current model's training rows)."""

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.drift_statistics import drift_comparison
from ml_on_aws.pipelines.stages import as_stage

from .nodes import render_drift_summary


def create_pipeline(**kwargs) -> Pipeline:
    return as_stage("drift", drift_comparison(
        reference="reference_data", compared="new_data", prefix="drift", report="drift_report", signal="retrain_signal",
    ) + Pipeline(
        [
            node(
                func=render_drift_summary,
                inputs="drift_report",
                outputs="drift_summary",
                name="render_drift_summary",
            ),
        ]
    ))
