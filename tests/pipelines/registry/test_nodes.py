"""The release decision: the champion is replaced only by a gated model at least as good on the same test set."""

from __future__ import annotations

import pandas as pd
import pytest

from ml_on_aws.core.mlflow_models import ModelPackage
from ml_on_aws.pipelines.registry.nodes import decide_release, flatten_metrics

from ...model_factory import package_small, train_small

ACCEPTED = {"accepted": True, "reason": "ok"}


@pytest.fixture(scope="module")
def strong_and_weak():
    strong, params, train, test = train_small(max_iter=60)
    weak, *_ = train_small(max_iter=1, learning_rate=0.01)
    strong_package, _ = package_small(strong, params, train, test)
    weak_package, _ = package_small(weak, params, train, test)
    return strong_package, weak_package, params, test


def _champion(package: ModelPackage, version: str = "1") -> ModelPackage:
    return ModelPackage(package.model, package.input_example, package.signature, package.trusted_types,
                        {**package.metadata, "registered_version": version})


def test_first_accepted_model_becomes_champion(strong_and_weak):
    strong, _, params, test = strong_and_weak
    release, decision = decide_release(strong, None, test, ACCEPTED, params["data"], params["evaluation"])
    assert release.promote and decision["reason"] == "there is no champion yet"


def test_weaker_model_keeps_the_champion_and_both_are_scored_on_the_same_rows(strong_and_weak):
    strong, weak, params, test = strong_and_weak
    release, decision = decide_release(weak, _champion(strong), test, ACCEPTED, params["data"], params["evaluation"])
    assert not release.promote
    assert decision["champion_score"] > decision["candidate_score"]
    assert decision["champion_version"] == "1" and "worse than" in decision["reason"]


def test_equal_or_better_model_replaces_the_champion(strong_and_weak):
    strong, weak, params, test = strong_and_weak
    release, _ = decide_release(strong, _champion(strong), test, ACCEPTED, params["data"], params["evaluation"])
    assert release.promote  # a tie is "at least as good"
    release, _ = decide_release(strong, _champion(weak), test, ACCEPTED, params["data"], params["evaluation"])
    assert release.promote


def test_rejected_model_never_becomes_champion(strong_and_weak):
    strong, _, params, test = strong_and_weak
    rejected = {"accepted": False, "reason": "test roc_auc 0.5 misses >= 0.75"}
    release, decision = decide_release(strong, None, test, rejected, params["data"], params["evaluation"])
    assert not release.promote and "quality gate rejected" in decision["reason"]


def test_champion_that_cannot_read_this_test_set_is_replaced(strong_and_weak):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from ml_on_aws.pipelines.feature_engineering.transformers import ColumnTypes

    strong, _, params, test = strong_and_weak
    old_data = pd.DataFrame({"Extra": [0.0, 1.0, 2.0, 3.0]})
    old_model = Pipeline([("columns", ColumnTypes(numeric=["Extra"])), ("model", LogisticRegression())])
    old_model.fit(old_data, ["good", "bad", "good", "bad"])
    old = ModelPackage(old_model, old_data, None, [], {"registered_version": "3"})
    release, decision = decide_release(strong, old, test, ACCEPTED, params["data"], params["evaluation"])
    assert release.promote and "cannot score this test set" in decision["reason"] and "Extra" in decision["reason"]


def _as(package: ModelPackage, version: str = "3", signature: object = "same", **metadata: object) -> ModelPackage:
    """The same model claiming another task, target or signature (what a champion records is what counts)."""
    return ModelPackage(package.model, package.input_example,
                        package.signature if signature == "same" else signature, package.trusted_types,
                        {**package.metadata, **metadata, "registered_version": version})


@pytest.mark.parametrize(("metadata", "named"), [
    ({"task": "clustering", "target": None}, "champion v3 is a clustering model of target None"),
    ({"target": "Seniority"}, "of target 'Seniority'"),
])
def test_champion_of_another_task_or_target_is_not_compared(strong_and_weak, metadata, named):
    strong, weak, params, test = strong_and_weak
    # The weak candidate would lose a comparison; refusing to compare must not promote it either.
    release, decision = decide_release(weak, _as(strong, **metadata), test, ACCEPTED, params["data"],
                                       params["evaluation"])
    assert not release.promote and decision["promote"] is False
    assert decision["compared"] is False and decision["champion_score"] is None
    assert decision["champion_version"] == "3"
    reason = decision["reason"]
    assert named in reason and "this candidate is a classification model of target 'Status'" in reason
    assert "not compared" in reason and "champion_model.model_name" in reason
    assert decision["champion_mismatch"] == (["task", "target"] if "task" in metadata else ["target"])


def test_champion_of_other_input_columns_is_not_compared(strong_and_weak):
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    strong, weak, params, test = strong_and_weak
    columns = [*(c for c in strong.signature.inputs.input_names() if c != "Income"), "Extra"]
    other = ModelSignature(inputs=Schema([ColSpec("double", name) for name in columns]),
                           outputs=strong.signature.outputs)
    release, decision = decide_release(strong, _as(weak, signature=other), test, ACCEPTED, params["data"],
                                       params["evaluation"])
    assert not release.promote and decision["champion_mismatch"] == ["input columns"]
    assert "only the champion reads Extra" in decision["reason"]
    assert "only the candidate reads Income" in decision["reason"]


def test_same_columns_in_another_order_are_compared(strong_and_weak):
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema

    strong, weak, params, test = strong_and_weak
    reordered = ModelSignature(inputs=Schema(list(reversed(strong.signature.inputs.inputs))),
                               outputs=strong.signature.outputs)
    release, decision = decide_release(strong, _as(weak, signature=reordered), test, ACCEPTED, params["data"],
                                       params["evaluation"])
    assert release.promote and "compared" not in decision and decision["champion_score"] is not None


def test_metrics_are_flat_numbers_in_kedro_mlflow_format():
    report = {"train": {"roc_auc": 0.9, "cluster_sizes": {"0": 3}}, "test": {"roc_auc": 0.8, "nan": float("nan")},
              "bias_variance": {"gap": 0.1, "diagnosis": "text"}}
    cv = pd.DataFrame({"rank_test_score": [2, 1], "mean_test_score": [0.7, 0.75], "std_test_score": [0.01, 0.02]})
    metrics = flatten_metrics(report, cv)
    assert metrics == {
        "train.roc_auc": {"value": 0.9, "step": 0}, "test.roc_auc": {"value": 0.8, "step": 0},
        "bias_variance.gap": {"value": 0.1, "step": 0},
        "cv.best_mean_test_score": {"value": 0.75, "step": 0}, "cv.best_std_test_score": {"value": 0.02, "step": 0},
    }
