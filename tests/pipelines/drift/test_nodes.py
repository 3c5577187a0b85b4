"""Drift decisions on samples of the bundled credit data: unchanged samples, and known shifts."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ml_on_aws.pipelines.drift.nodes import render_drift_summary
from ml_on_aws.pipelines.drift_statistics import (
    assess_drift,
    compute_column_drift,
    kl_divergence_by_column,
    population_stability_index,
)
from ml_on_aws.pipelines.training.nodes import select_reference_data

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def params() -> dict:
    return yaml.safe_load((ROOT / "conf/base/parameters.yml").read_text())


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data/01_raw/credit_data.csv")


def _drift(reference, batch, params, with_kl=True):
    stats = compute_column_drift(reference, batch, params["data"], params["drift"])
    kl = kl_divergence_by_column(reference, batch, params["data"], params["drift"]) if with_kl else {}
    return assess_drift(stats, kl, params["drift"])


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_a_random_sample_flags_nothing(reference, params, seed):
    batch = reference.drop(columns="Status").sample(n=500, random_state=seed)
    report, signal = _drift(reference, batch, params, with_kl=seed == 0)
    assert signal["retrain"] == 0, signal["reasons"]
    assert report["verdict"] == "no drift" and signal["checked_columns"] == 13


def test_shifted_number_and_new_category_are_flagged_exactly(reference, params):
    batch = reference.drop(columns="Status").sample(n=500, random_state=0)
    batch["Age"] = batch["Age"] + 12
    batch.loc[batch.index[:100], "Home"] = "houseboat"
    report, signal = _drift(reference, batch, params)
    assert signal["retrain"] == 1
    assert signal["drifted_columns"] == ["Home", "Age"]
    age = report["columns"]["Age"]
    assert age["ks_statistic"] > 0.3 and age["kl_divergence"] > params["drift"]["thresholds"]["kl_divergence"]
    assert report["columns"]["Home"]["new_categories"] == ["houseboat"]
    assert report["columns"]["Home"]["new_category_share"] == pytest.approx(0.2)
    assert any("new categories ['houseboat']" in r for r in signal["reasons"])


def test_missing_rate_vanished_categories_and_missing_columns(reference, params):
    batch = reference.drop(columns=["Status", "Price"]).sample(n=800, random_state=1)
    batch.loc[batch.index[:200], "Debt"] = np.nan
    batch = batch[batch["Marital"] != "married"]
    report, signal = _drift(reference, batch, params, with_kl=False)
    reasons = {c: report["columns"][c]["reasons"] for c in signal["drifted_columns"]}
    assert reasons["Price"] == ["column missing from the batch"]
    assert any(r.startswith("missing rate") for r in reasons["Debt"])
    assert any("['married']" in r and "absent" in r for r in reasons["Marital"])


def test_retrain_needs_the_configured_number_of_columns(reference, params):
    batch = reference.drop(columns="Status").sample(n=500, random_state=0)
    batch["Age"] = batch["Age"] + 12
    lenient = {**params["drift"], "min_drifted_columns": 2}
    stats = compute_column_drift(reference, batch, params["data"], lenient)
    report, signal = assess_drift(stats, {}, lenient)
    assert signal["drifted_columns"] == ["Age"] and signal["retrain"] == 0


def test_significance_guards_small_batches(reference, params):
    # Ten rows: effect sizes are large by chance alone, the tests say it is noise.
    batch = reference.drop(columns="Status").sample(n=10, random_state=3)
    report, signal = _drift(reference, batch, params, with_kl=False)
    assert signal["retrain"] == 0, signal["reasons"]


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    same = population_stability_index(np.array([10, 20, 30]), np.array([20, 40, 60]))
    small = population_stability_index(np.array([10, 20, 30]), np.array([12, 20, 28]))
    large = population_stability_index(np.array([10, 20, 30]), np.array([30, 20, 10]))
    assert same == pytest.approx(0, abs=1e-9) and 0 < small < large


def test_reference_is_bounded(reference, params):
    small = {**params["drift"], "reference_max_rows": 1000}
    assert len(select_reference_data(reference, small)) == 1000
    assert select_reference_data(reference.head(50), small).equals(reference.head(50))


def test_summary_lists_drifted_columns_first(reference, params):
    batch = reference.drop(columns="Status").sample(n=500, random_state=0)
    batch["Price"] = batch["Price"] * 3
    report, _ = _drift(reference, batch, params, with_kl=False)
    page = render_drift_summary(report)
    assert "Drift: drift" in page and "Retrain signal: <b>1</b>" in page
    assert page.index(">Price<") < page.index(">Age<")


def _kl_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({
        "income": rng.normal(50, 10, 400).round(2),
        "age": rng.integers(18, 70, 400),
        "home": rng.choice(["rent", "own", "other"], 400, p=[0.5, 0.4, 0.1]),
        "flag": rng.choice([True, False], 400),
        "Status": rng.choice(["good", "bad"], 400),
    })
    batch = pd.DataFrame({
        "income": np.concatenate([rng.normal(58, 12, 190).round(2), [5.0, 200.0], [np.nan] * 8]),
        "age": rng.integers(18, 70, 200),
        "home": rng.choice(["rent", "own", "parents"], 200, p=[0.3, 0.5, 0.2]),
        "flag": rng.choice([True, False], 200),
        "Status": rng.choice(["good", "bad"], 200),
    })
    return reference, batch


def test_kl_divergence_keeps_the_values_great_expectations_gave(params):
    """ExpectColumnKLDivergenceToBeLessThan (GX 1.24, tail_weight_holdout 0.01) gave these for
    the same frames, out-of-range numbers, missing values and an unseen category included."""
    reference, batch = _kl_frames()
    found = kl_divergence_by_column(reference, batch, params["data"], params["drift"])
    assert found["income"] == pytest.approx(0.7058322695115113, rel=1e-12)
    assert found["age"] == pytest.approx(0.02067572476438343, rel=1e-12)
    assert found["home"] == pytest.approx(0.7430621938352536, rel=1e-12)
    assert "Status" not in found  # the target is not a model input
    # True/False compared as the same values on both sides: nearly equal shares, nearly 0.
    assert found["flag"] < 0.01
    missing = kl_divergence_by_column(reference, batch.assign(income=np.nan), params["data"], params["drift"])
    assert missing["income"] == float("inf")


def test_kl_divergence_of_categories_by_hand(params):
    reference = pd.DataFrame({"home": ["rent"] * 2 + ["own"] * 2, "Status": ["good"] * 4})
    batch = pd.DataFrame({"home": ["rent", "rent", "rent", "parents"], "Status": ["good"] * 4})
    found = kl_divergence_by_column(reference, batch, params["data"], params["drift"])
    # The reference keeps 0.01 for unseen categories: q = (rent 0.495, own 0.495, parents 0.01).
    expected = 0.75 * np.log(0.75 / 0.495) + 0.25 * np.log(0.25 / 0.01)
    assert found["home"] == pytest.approx(expected, rel=1e-12)
