"""Whether the training and evaluation settings can work for the task and its target.

Each of these otherwise fails late or not at all: a search scorer that cannot score the task
gives NaN for every candidate and keeps an arbitrary one; a quality-gate metric the task does
not compute rejects every model after a full run; clustering without candidates fails after
the data was validated, split and transformed.

The first node of data validation checks them on the loaded table, after the target itself
(``check_training_data``): before any other node, so a setting that cannot work leaves nothing
behind. Some need the target's values (its number of classes, whether a scorer can score it).
"""

from __future__ import annotations

import pandas as pd

from ml_on_aws.core.config import ConfigurationError, DataConfig, EvaluationConfig, TrainingConfig

CLUSTERING_EXAMPLE = "conf/credit_clustering/parameters.yml"
# The dotted keys the checks may name; the caller maps each to the file that sets it.
KEYS = (
    "training.clustering", "training.search.scoring", "evaluation.quality_gate.metric",
    "evaluation.quality_gate.greater_is_better",
)


def check_training_fits_task(
    data: DataConfig, training: TrainingConfig | None, evaluation: EvaluationConfig | None,
    target: pd.Series | None, where: dict[str, str],
) -> None:
    """Raise ``ConfigurationError`` naming the key and its file when a setting cannot work.

    ``target`` is the target column, or None for clustering and a table without rows: then only
    what holds whatever the target's values are is checked (not the scorer, and a classification
    gate metric against the metrics of any number of classes).
    ``where`` maps a dotted key (``training.search.scoring``...) to the file that sets it; a key
    it lacks is named as set "in the parameters".
    """

    def fail(key: str, message: str) -> None:
        raise ConfigurationError(message, setting=key, file=where.get(key))

    n_classes = int(target.dropna().nunique()) if target is not None and data.task == "classification" else None
    has_proba = True
    if training is not None:
        if data.task == "clustering" and training.clustering is None:
            fail(
                "training.clustering",
                "Task 'clustering' needs training.clustering.candidates (the clusterers to try and their "
                f"settings), and none are set; copy the example in {CLUSTERING_EXAMPLE}.",
            )
        if data.task != "clustering":
            has_proba = _check_search(data, training, target, n_classes, fail)
    if evaluation is not None:
        classes_unknown = data.task == "classification" and target is None
        _check_quality_gate(data, evaluation, n_classes, has_proba, fail, classes_unknown)


def _check_search(data: DataConfig, training: TrainingConfig, target: pd.Series | None,
                  n_classes: int | None, fail) -> bool:
    """Check the scorer; return whether the estimator gives class probabilities."""
    from ml_on_aws.pipelines.training.estimators import make_estimator
    from ml_on_aws.pipelines.training.scoring import scoring_problem, suggested_scorers

    estimator = make_estimator(training.estimator)
    search = training.search
    if search.scoring and target is not None and search.kind != "none" and search.space:
        problem = scoring_problem(search.scoring, data.task, target)
        if problem:
            fail(
                "training.search.scoring",
                f"Search scoring {problem}. Use one that fits, e.g. {', '.join(suggested_scorers(data.task, n_classes))}, "
                "or remove the key (null) for the task's default.",
            )
    return hasattr(estimator, "predict_proba")


def _check_quality_gate(data: DataConfig, evaluation: EvaluationConfig, n_classes: int | None,
                        has_proba: bool, fail, classes_unknown: bool = False) -> None:
    from ml_on_aws.pipelines.evaluation.metrics import ERROR_METRICS, metric_names

    gate = evaluation.quality_gate
    computed = metric_names(data.task, n_classes, has_proba)
    if classes_unknown:  # f1 for two classes, f1_macro for more: either may be right without a target
        computed |= metric_names(data.task, 3, has_proba)
    if gate.metric not in computed:
        kind = "binary " if n_classes == 2 else f"{n_classes}-class " if n_classes else ""
        why = " (the estimator has no predict_proba)" if gate.metric in metric_names(data.task, n_classes) else ""
        fail(
            "evaluation.quality_gate.metric",
            f"Quality-gate metric '{gate.metric}' is not computed for {kind}{data.task}{why}; "
            f"it can be one of {sorted(computed)}.",
        )
    if gate.metric in ERROR_METRICS and gate.greater_is_better:
        fail(
            "evaluation.quality_gate.greater_is_better",
            f"Quality-gate metric '{gate.metric}' is an error (lower is better), but greater_is_better is true; "
            "set it to false.",
        )
