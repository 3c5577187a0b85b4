"""Score the model on train and test, keep its test predictions, explain it, draw it, and apply the quality gate."""

from kedro.pipeline import Pipeline, node

from ml_on_aws.pipelines.stages import as_stage

from .nodes import (
    apply_quality_gate,
    compute_feature_importance,
    compute_learning_curve,
    evaluate_model,
    plot_evaluation,
    predict_test_set,
)


def create_pipeline(**kwargs) -> Pipeline:
    return as_stage("evaluation", Pipeline(
        [
            node(
                func=evaluate_model,
                inputs=["model", "train_set", "test_set", "params:data", "params:evaluation"],
                outputs="evaluation_report",
                name="evaluate_model",
            ),
            node(
                func=predict_test_set,
                inputs=["model", "test_set", "params:data"],
                outputs="test_predictions",
                name="predict_test_set",
            ),
            node(
                func=compute_learning_curve,
                inputs=["model", "train_set", "params:data", "params:evaluation", "params:split"],
                outputs="learning_curve",
                name="compute_learning_curve",
            ),
            node(
                func=compute_feature_importance,
                inputs=["model", "test_set", "params:data", "params:evaluation", "params:split"],
                outputs="feature_importance",
                name="compute_feature_importance",
            ),
            node(
                func=plot_evaluation,
                inputs=[
                    "model", "test_set", "evaluation_report", "learning_curve",
                    "feature_importance", "params:data", "params:evaluation",
                ],
                outputs="evaluation_plots",
                name="plot_evaluation",
            ),
            node(
                func=apply_quality_gate,
                inputs=["evaluation_report", "params:evaluation"],
                outputs="model_status",
                name="apply_quality_gate",
            ),
        ]
    ))
