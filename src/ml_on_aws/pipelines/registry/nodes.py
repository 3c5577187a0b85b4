"""Nodes that turn the evaluated model into MLflow metrics, a model package and a release decision."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import pandas as pd

from ml_on_aws.core.config import DataConfig, EvaluationConfig, RegistryConfig, parse
from ml_on_aws.core.mlflow_models import ModelPackage, ModelRelease, skops_trusted_types
from ml_on_aws.core.predictions import predict_frame
from ml_on_aws.core.progress import activity
from ml_on_aws.pipelines.evaluation.metrics import task_scores
from ml_on_aws.pipelines.feature_engineering.compiled import compile_and_verify
from ml_on_aws.pipelines.shared import features_and_target

logger = logging.getLogger(__name__)

# Rows the signature's column types are inferred from: enough to see missing values.
_SIGNATURE_ROWS = 1_000


def flatten_metrics(report: dict[str, Any], cv_results: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Every numeric score of the evaluation report as ``<set>.<metric>``, plus the best CV score,
    in kedro-mlflow's metrics format (``{name: {"value": v, "step": 0}}``)."""
    metrics = {
        f"{part}.{name}": float(value)
        for part in ("train", "test", "bias_variance")
        for name, value in report.get(part, {}).items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
    if "rank_test_score" in cv_results.columns and not cv_results.empty:
        best = cv_results.sort_values("rank_test_score").iloc[0]
        metrics["cv.best_mean_test_score"] = float(best["mean_test_score"])
        metrics["cv.best_std_test_score"] = float(best["std_test_score"])
    return {name: {"value": value, "step": 0} for name, value in metrics.items()}


def model_signature(model: Any, sample: pd.DataFrame) -> Any:
    """Inputs as the raw columns, every one optional and integers as doubles.

    New rows may miss any value (the model imputes them), and an integer column with a
    missing value arrives as floats; a stricter signature would make MLflow reject them.
    """
    from mlflow.models import infer_signature
    from mlflow.types.schema import ColSpec, Schema

    as_float = sample.astype({c: "float64" for c in sample.select_dtypes("integer").columns})
    signature = infer_signature(as_float, predict_frame(model, sample))
    signature.inputs = Schema([ColSpec(spec.type, spec.name, required=False) for spec in signature.inputs.inputs])
    return signature


def package_model(
    model: Any,
    train: pd.DataFrame,
    report: dict[str, Any],
    status: dict[str, Any],
    data_params: dict[str, Any],
    registry_params: dict[str, Any],
    test: pd.DataFrame,
) -> ModelPackage:
    """The model with its signature, an input example, the skops types it needs, its scores, and
    its compiled prediction path when that gives scikit-learn's answers on the whole test set."""
    data = parse(DataConfig, data_params, "data")
    registry = parse(RegistryConfig, registry_params, "registry")
    X, _ = features_and_target(train, data)
    scores = {k: v for k, v in report.get("test", {}).items() if isinstance(v, int | float)}
    compiled, outcome = compile_and_verify(model, features_and_target(test, data)[0])
    (logger.info if compiled else logger.warning)(outcome)
    return ModelPackage(
        model=model,
        input_example=X.head(registry.input_example_rows),
        signature=model_signature(model, X.head(_SIGNATURE_ROWS)),
        trusted_types=skops_trusted_types(model),
        metadata={"task": data.task, "target": data.target, "test_scores": scores, "quality_gate": status,
                  "compiled_prediction_path": compiled is not None},
        compiled=compiled,
    )


def decide_release(
    candidate: ModelPackage,
    champion: ModelPackage | None,
    test: pd.DataFrame,
    status: dict[str, Any],
    data_params: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> tuple[ModelRelease, dict[str, Any]]:
    """Promote the candidate when it passed the gate and scores at least as well as the champion
    on this run's test set, with the gate's metric; otherwise the champion stays.

    A champion of another task, target or set of input columns is not compared: the candidate
    is registered without the alias, and the decision says why (``compared`` False).
    """
    data = parse(DataConfig, data_params, "data")
    evaluation = parse(EvaluationConfig, evaluation_params, "evaluation")
    gate = evaluation.quality_gate
    X, y = features_and_target(test, data)
    with activity(f"scoring the candidate on {len(X)} test rows"):
        candidate_score = task_scores(candidate.model, X, y, data, evaluation.plot_max_rows).get(gate.metric)
    decision: dict[str, Any] = {
        "metric": gate.metric, "candidate_score": candidate_score, "champion_score": None,
        "champion_version": None, "quality_gate": "accepted" if status["accepted"] else "rejected",
    }
    if not status["accepted"]:
        promote, reason = False, f"quality gate rejected the model ({status['reason']})"
    elif champion is None:
        promote, reason = True, "there is no champion yet"
    else:
        decision["champion_version"] = champion.metadata.get("registered_version")
        mismatch = incompatibility(champion, candidate)
        if mismatch:
            decision["compared"] = False
            decision["champion_mismatch"] = mismatch
            promote, reason = False, _not_compared(champion, candidate, mismatch)
        else:
            promote, reason, decision["champion_score"] = _challenge(champion.model, candidate_score, X, y, data, evaluation)
    decision.update(promote=promote, reason=reason)
    (logger.info if promote else logger.warning)("Release: %s the candidate: %s.", "promote" if promote else "keep the champion over", reason)
    return ModelRelease(package=candidate, promote=promote, decision=decision), decision


def input_columns(package: ModelPackage) -> list[str] | None:
    """The column names of the model's input signature, or None when it has none."""
    signature = package.signature
    if signature is None or signature.inputs is None or not signature.inputs.has_input_names():
        return None
    return list(signature.inputs.input_names())


def incompatibility(champion: ModelPackage, candidate: ModelPackage) -> list[str]:
    """What makes the champion another kind of model than the candidate: its task, its target,
    or its input columns (as far as the champion records them). Empty when they compare."""
    differences = []
    for key in ("task", "target"):
        if key in champion.metadata and champion.metadata.get(key) != candidate.metadata.get(key):
            differences.append(key)
    theirs, ours = input_columns(champion), input_columns(candidate)
    if theirs is not None and ours is not None and set(theirs) != set(ours):
        differences.append("input columns")
    return differences


def _describe(package: ModelPackage) -> str:
    target = package.metadata.get("target")
    return f"a {package.metadata.get('task', 'model of unknown task')} model of target {target!r}"


def _columns_change(champion: ModelPackage, candidate: ModelPackage, shown: int = 5) -> str:
    theirs, ours = set(input_columns(champion) or ()), set(input_columns(candidate) or ())

    def listed(columns: set[str]) -> str:
        names = sorted(columns)
        return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")

    parts = [f"{label} {listed(cols)}" for label, cols in (("only the champion reads", theirs - ours),
                                                            ("only the candidate reads", ours - theirs)) if cols]
    return "; ".join(parts)


def _not_compared(champion: ModelPackage, candidate: ModelPackage, mismatch: list[str]) -> str:
    version = champion.metadata.get("registered_version")
    reason = (f"champion v{version} is {_describe(champion)}; this candidate is {_describe(candidate)}"
              f" (another {', '.join(mismatch)})")
    if "input columns" in mismatch:
        reason += f" ({_columns_change(champion, candidate)})"
    return (reason + ": not compared, registered as a new version without the champion alias; give this dataset "
            "its own registered model name (catalog champion_model.model_name and registered_model.model_name)")


def _challenge(champion: Any, candidate_score: float | None, X: pd.DataFrame, y: pd.Series | None,
               data: DataConfig, evaluation: EvaluationConfig) -> tuple[bool, str, float | None]:
    """Score the champion like the candidate; (promote, reason, champion score)."""
    gate = evaluation.quality_gate
    try:
        started = time.monotonic()
        logger.info("Release: scoring the champion on the same %d test rows.", len(X))
        with activity(f"scoring the champion on {len(X)} test rows"):
            champion_score = task_scores(champion, X, y, data, evaluation.plot_max_rows).get(gate.metric)
        logger.info("Release: champion scored in %.1f s.", time.monotonic() - started)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Trained on other columns or for another task: the champion cannot serve this data.
        return True, f"the champion cannot score this test set ({exc})", None
    if champion_score is None:
        return True, f"the champion has no {gate.metric} on this test set", None
    if candidate_score is None:
        return False, f"the candidate has no {gate.metric} on this test set", champion_score
    promote = candidate_score >= champion_score if gate.greater_is_better else candidate_score <= champion_score
    verdict = "at least as good as" if promote else "worse than"
    reason = f"test {gate.metric} {candidate_score:.4f} is {verdict} the champion's {champion_score:.4f} on the same test set"
    return bool(promote), reason, champion_score
