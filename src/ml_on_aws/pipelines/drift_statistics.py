"""Drift of a table against the reference rows the current model was trained on: per-column
statistics from scipy (effect sizes, and tests that they are not noise), the thresholds that
make a column drift, and the retrain signal.

Shared by the stages that compare data with the reference: ``drift`` (a new batch) and
``monitoring`` (the rows an endpoint received), so both decide drift the same way.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from kedro.pipeline import Pipeline, node
from scipy import special, stats

from ml_on_aws.core.config import DataConfig, DriftConfig, parse
from ml_on_aws.core.dtypes import is_numeric
from ml_on_aws.pipelines.data_validation.expectations import jsonable

logger = logging.getLogger(__name__)

# Added to every bin share so that PSI stays finite when a bin is empty on one side.
_EMPTY_BIN_SHARE = 1e-4

# Share of the reference distribution given to values outside its bins or categories; without
# it one unseen value makes the KL divergence infinite.
TAIL_WEIGHT_HOLDOUT = 0.01


def quantile_edges(reference: pd.Series, bins: int) -> np.ndarray:
    """Inner bin edges at the reference quantiles (repeated values collapse into one edge)."""
    return np.unique(np.quantile(reference.to_numpy(dtype=float), np.linspace(0, 1, bins + 1)[1:-1]))


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI of two count vectors over the same bins: sum (a - e) ln(a / e), symmetric KL."""
    e = expected / expected.sum() + _EMPTY_BIN_SHARE
    a = actual / actual.sum() + _EMPTY_BIN_SHARE
    return float(np.sum(special.rel_entr(a, e) + special.rel_entr(e, a)))


def kl_divergence(reference: pd.Series, batch: pd.Series, bins: int, tail_weight: float) -> float | None:
    """KL divergence D(batch || reference) of the non-missing values, over the reference's
    ``bins`` quantile bins (numbers) or its categories (anything else, compared as text).

    The reference gives ``tail_weight`` of its mass to values outside its bins (half below, half
    above) or to categories it never saw (shared equally), so that such values count without
    making the divergence infinite. None when the reference has nothing to compare with;
    infinite when the batch has no values.
    """
    values = reference.dropna()
    if values.empty:
        return None
    new = batch.dropna()
    if is_numeric(values):
        numbers = values.to_numpy(dtype=float)
        edges = np.unique(np.quantile(numbers, np.linspace(0, 1, bins + 1)))
        if len(edges) < 2:
            return None
        counts = np.histogram(numbers, edges)[0]
        expected = np.concatenate([[tail_weight / 2], counts / counts.sum() * (1 - tail_weight), [tail_weight / 2]])
        seen = new.to_numpy(dtype=float)
        observed = np.concatenate([[np.sum(seen < edges[0])], np.histogram(seen, edges)[0], [np.sum(seen > edges[-1])]])
        divergence = stats.entropy(observed / len(seen), expected) if len(seen) else np.nan
    else:
        shares = pd.concat([values.astype(str).value_counts(normalize=True).rename("expected"),
                            new.astype(str).value_counts(normalize=True).rename("observed")], axis=1)
        unseen = int(shares["expected"].isna().sum())
        expected = shares["expected"] * (1 - tail_weight) if unseen else shares["expected"]
        expected = expected.fillna(tail_weight / unseen) if unseen else expected
        divergence = stats.entropy(shares["observed"].fillna(0), expected) if len(new) else np.nan
    return float(divergence) if np.isfinite(divergence) else float("inf")


def numeric_drift(reference: pd.Series, batch: pd.Series, bins: int) -> dict[str, Any]:
    ref, new = reference.dropna().to_numpy(dtype=float), batch.dropna().to_numpy(dtype=float)
    if len(ref) == 0 or len(new) == 0:
        return {"kind": "numeric", "comparable": False}
    ks = stats.ks_2samp(ref, new)
    spread = float(np.std(ref)) or 1.0
    edges = np.concatenate([[-np.inf], quantile_edges(reference.dropna(), bins), [np.inf]])
    return {
        "kind": "numeric",
        "comparable": True,
        "ks_statistic": float(ks.statistic),
        "p_value": float(ks.pvalue),
        "psi": population_stability_index(np.histogram(ref, edges)[0], np.histogram(new, edges)[0]),
        "wasserstein": float(stats.wasserstein_distance(ref, new)) / spread,
        "reference_mean": float(np.mean(ref)),
        "batch_mean": float(np.mean(new)),
    }


def categorical_drift(reference: pd.Series, batch: pd.Series) -> dict[str, Any]:
    ref_counts = reference.dropna().astype(str).value_counts()
    new_counts = batch.dropna().astype(str).value_counts()
    if ref_counts.empty or new_counts.empty:
        return {"kind": "categorical", "comparable": False}
    table = pd.concat([ref_counts, new_counts], axis=1, keys=["reference", "batch"]).fillna(0)
    new_categories = sorted(set(new_counts.index) - set(ref_counts.index))
    vanished = sorted(set(ref_counts.index) - set(new_counts.index))
    p_value = 1.0
    if len(table) > 1:
        p_value = float(stats.chi2_contingency(table.T.to_numpy()).pvalue)
    return {
        "kind": "categorical",
        "comparable": True,
        "p_value": p_value,
        "psi": population_stability_index(table["reference"].to_numpy(), table["batch"].to_numpy()),
        "new_categories": new_categories[:20],
        "new_category_share": float(new_counts[new_categories].sum() / new_counts.sum()),
        "vanished_categories": vanished[:20],
        "vanished_category_share": float(ref_counts[vanished].sum() / ref_counts.sum()),
        # Chance that a batch this size from the reference holds none of those categories.
        "vanished_p_value": float(stats.binom.pmf(0, int(new_counts.sum()), ref_counts[vanished].sum() / ref_counts.sum())),
    }


def missing_rates(reference: pd.Series, batch: pd.Series) -> dict[str, float]:
    """Shares of missing values, and how likely the batch's count is under the reference share."""
    ref_rate = float(reference.isna().mean()) if len(reference) else 0.0
    missing = int(batch.isna().sum())
    new_rate = missing / len(batch) if len(batch) else 0.0
    p_value = float(stats.binomtest(missing, len(batch), ref_rate).pvalue) if len(batch) else 1.0
    return {
        "reference_missing": ref_rate,
        "batch_missing": new_rate,
        "missing_rate_change": abs(new_rate - ref_rate),
        "missing_p_value": p_value,
    }


# ---------------------------------------------------------------- columns and verdict


def compute_column_drift(
    reference_data: pd.DataFrame, new_data: pd.DataFrame, data_params: dict[str, Any], drift_params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per compared column: missing-rate change and the scipy statistics suited to its type.
    A batch without rows has nothing to compare: no columns (and so no drift)."""
    drift = parse(DriftConfig, drift_params, "drift")
    statistics = {}
    if new_data.empty:
        return statistics
    for column in compared_columns(reference_data, parse(DataConfig, data_params, "data")):
        reference = reference_data[column]
        if column not in new_data.columns:
            statistics[column] = {"kind": "missing", "comparable": False}
            continue
        batch = new_data[column]
        if is_numeric(reference) and not is_numeric(batch):
            found = {"kind": "numeric", "comparable": False, "type_changed": str(batch.dtype)}
        elif is_numeric(reference):
            found = numeric_drift(reference, batch, drift.numeric_bins)
        else:
            found = categorical_drift(reference, batch)
        statistics[column] = {**found, **missing_rates(reference, batch)}
    return jsonable(statistics)


def kl_divergence_by_column(
    reference_data: pd.DataFrame, new_data: pd.DataFrame, data_params: dict[str, Any], drift_params: dict[str, Any]
) -> dict[str, float]:
    """KL divergence of each column's new values from the reference distribution (infinite when
    the new values have nothing in common with it, e.g. all missing); none for a batch without rows."""
    drift = parse(DriftConfig, drift_params, "drift")
    divergences = {}
    if new_data.empty:
        return divergences
    for column in compared_columns(reference_data, parse(DataConfig, data_params, "data")):
        if column not in new_data.columns or is_numeric(reference_data[column]) != is_numeric(new_data[column]):
            continue
        divergence = kl_divergence(reference_data[column], new_data[column], drift.numeric_bins, TAIL_WEIGHT_HOLDOUT)
        if divergence is not None:
            divergences[column] = divergence
    return divergences


def compared_columns(reference: pd.DataFrame, data: DataConfig) -> list[str]:
    """The model's input columns: the reference columns except the target and dropped ones."""
    excluded = {data.target, *data.drop_columns} - {None}
    return [c for c in reference.columns if c not in excluded]


def assess_drift(
    column_statistics: dict[str, dict[str, Any]], kl_divergences: dict[str, float | None], drift_params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The drift report and the retrain signal (0 or 1, with reasons) from the column statistics."""
    drift = parse(DriftConfig, drift_params, "drift")
    columns = {}
    for column, found in column_statistics.items():
        found = {**found, "kl_divergence": kl_divergences.get(column)}
        reasons = drift_reasons(found, drift)
        columns[column] = {**found, "drifted": bool(reasons), "reasons": reasons}
    drifted = [c for c, v in columns.items() if v["drifted"]]
    retrain = int(len(drifted) >= drift.min_drifted_columns)
    reasons = [f"{c}: {'; '.join(columns[c]['reasons'])}" for c in drifted]
    signal = {"retrain": retrain, "drifted_columns": drifted, "checked_columns": len(columns), "reasons": reasons}
    report = {
        "verdict": "drift" if retrain else "no drift",
        **signal,
        "settings": drift.model_dump(),
        "columns": columns,
    }
    if retrain:
        logger.warning("Drift in %d column(s), retrain signal 1: %s", len(drifted), reasons)
    else:
        logger.info("No drift over the thresholds in %d columns (retrain signal 0).", len(columns))
    return jsonable(report), signal


def drift_reasons(found: dict[str, Any], drift: DriftConfig) -> list[str]:
    """Why one column's statistics (``compute_column_drift``, with its ``kl_divergence``) count as
    drift under ``drift``'s thresholds; empty when they do not."""
    limits = drift.thresholds
    if found["kind"] == "missing":
        return ["column missing from the batch"]
    if found.get("type_changed"):
        return [f"numeric in the reference, {found['type_changed']} in the batch"]
    reasons = []
    # Every effect size counts only if its test says it is not sampling noise.
    if found.get("missing_rate_change", 0) >= limits.missing_rate_change and found["missing_p_value"] < drift.p_value:
        reasons.append(
            f"missing rate {found['reference_missing']:.1%} -> {found['batch_missing']:.1%}"
        )
    if not found.get("comparable"):
        return reasons
    effects = {"psi": limits.psi, "kl_divergence": limits.kl_divergence}
    if found["kind"] == "numeric":
        effects |= {"ks_statistic": limits.ks_statistic, "wasserstein": limits.wasserstein}
    if found["p_value"] < drift.p_value:
        reasons += [
            f"{name} {found[name]:.3g} >= {limit:g}"
            for name, limit in effects.items()
            if found.get(name) is not None and found[name] >= limit
        ]
    if found["kind"] == "categorical":
        if found["new_category_share"] >= limits.new_category_share:
            reasons.append(f"new categories {found['new_categories']} in {found['new_category_share']:.1%} of rows")
        vanished = found["vanished_category_share"]
        if vanished >= limits.vanished_category_share and found["vanished_p_value"] < drift.p_value:
            reasons.append(
                f"categories {found['vanished_categories']} ({found['vanished_category_share']:.1%} of the reference) absent"
            )
    return reasons


def column_table_html(drift_report: dict[str, Any]) -> str:
    """The report's columns as an HTML table, one row per column, drifted columns first."""
    metrics = ["kind", "ks_statistic", "psi", "wasserstein", "kl_divergence", "p_value", "missing_rate_change"]
    rows = pd.DataFrame.from_dict(drift_report["columns"], orient="index").reindex(
        columns=["drifted", *metrics, "reasons"]
    )
    rows["reasons"] = rows["reasons"].map(lambda r: "; ".join(r) if isinstance(r, list) else "")
    rows = rows.sort_values("drifted", ascending=False, kind="stable")
    return rows.to_html(float_format=lambda v: f"{v:.4g}", na_rep="", escape=True, classes="drift")


def drift_comparison(*, reference: str, compared: str, prefix: str, report: str, signal: str) -> Pipeline:
    """The nodes that decide whether the table ``compared`` drifted from ``reference``: per-column
    statistics and KL divergences (``<prefix>_column_statistics``, ``<prefix>_kl_divergences``), then
    the verdict, as ``report`` and ``signal``. The ``drift`` and ``monitoring`` stages both use it."""
    statistics, divergences = f"{prefix}_column_statistics", f"{prefix}_kl_divergences"
    return Pipeline([
        node(compute_column_drift, [reference, compared, "params:data", "params:drift"], statistics,
             name="compute_column_drift"),
        node(kl_divergence_by_column, [reference, compared, "params:data", "params:drift"], divergences,
             name="kl_divergence_by_column"),
        node(assess_drift, [statistics, divergences, "params:drift"], [report, signal], name="assess_drift"),
    ])
