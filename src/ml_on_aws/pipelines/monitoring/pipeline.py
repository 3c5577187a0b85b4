"""Read an endpoint's captured requests of a time window, rebuild their rows and predictions, and
compare them with the current model's reference rows and test predictions (live quality too,
when ground-truth labels are supplied)."""

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.drift_statistics import drift_comparison
from ml_on_aws.pipelines.stages import as_stage

from .nodes import (
    build_monitoring_report,
    compare_predictions,
    rebuild_live_rows,
    render_monitoring_summary,
    score_live_traffic,
    select_window,
)


def create_pipeline(**kwargs) -> Pipeline:
    # The drift stage's comparison, on the live rows instead of a new batch.
    live_drift = drift_comparison(reference="model_reference_data", compared="live_features", prefix="live",
                                  report="live_drift_report", signal="live_retrain_signal")
    return as_stage("monitoring", live_drift + Pipeline(
        [
            node(
                func=select_window,
                inputs=["captured_data", "params:monitoring"],
                outputs=["capture_records", "monitoring_window"],
                name="select_window",
            ),
            node(
                func=rebuild_live_rows,
                inputs=["capture_records", "model_reference_data", "model", "params:data"],
                outputs=["live_features", "live_predictions", "capture_parsing"],
                name="rebuild_live_rows",
            ),
            node(
                func=compare_predictions,
                inputs=["test_predictions", "live_predictions", "params:data", "params:drift"],
                outputs="live_prediction_shift",
                name="compare_predictions",
            ),
            node(
                func=score_live_traffic,
                inputs=["live_predictions", "ground_truth_labels", "test_predictions", "params:data"],
                outputs="live_quality",
                name="score_live_traffic",
            ),
            node(
                func=build_monitoring_report,
                inputs=["monitoring_window", "capture_parsing", "live_drift_report", "live_retrain_signal",
                        "live_prediction_shift", "live_quality", "params:monitoring", "model_lineage"],
                outputs="monitoring_report",
                name="build_monitoring_report",
            ),
            node(
                func=render_monitoring_summary,
                inputs=["monitoring_report", "model_reference_data", "live_features", "test_predictions", "live_predictions"],
                outputs="monitoring_summary",
                name="render_monitoring_summary",
            ),
        ]
    ))
