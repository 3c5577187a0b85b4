"""Drift of a new batch against the reference rows the current model was trained on."""

from __future__ import annotations

import html
import logging
from typing import Any

import pandas as pd

from ml_on_aws.core.config import DataConfig, DriftConfig, parse
from ml_on_aws.core.dtypes import is_numeric
from ml_on_aws.pipelines.data_validation.expectations import jsonable
from ml_on_aws.pipelines.drift.statistics import (
    categorical_drift,
    kl_divergence,
    missing_rates,
    numeric_drift,
)

logger = logging.getLogger(__name__)

# Share of the reference distribution given to values outside its bins or categories; without
# it one unseen value makes the KL divergence infinite.
_TAIL_WEIGHT_HOLDOUT = 0.01


def compute_column_drift(
    reference_data: pd.DataFrame, new_data: pd.DataFrame, data_params: dict[str, Any], drift_params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per compared column: missing-rate change and the scipy statistics suited to its type."""
    drift = parse(DriftConfig, drift_params, "drift")
    statistics = {}
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
    the new values have nothing in common with it, e.g. all missing)."""
    drift = parse(DriftConfig, drift_params, "drift")
    divergences = {}
    for column in compared_columns(reference_data, parse(DataConfig, data_params, "data")):
        if column not in new_data.columns or is_numeric(reference_data[column]) != is_numeric(new_data[column]):
            continue
        divergence = kl_divergence(reference_data[column], new_data[column], drift.numeric_bins, _TAIL_WEIGHT_HOLDOUT)
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
        reasons = _drift_reasons(found, drift)
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


def _drift_reasons(found: dict[str, Any], drift: DriftConfig) -> list[str]:
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


def render_drift_summary(drift_report: dict[str, Any]) -> str:
    """A one-page HTML summary: the verdict, then one row per column, drifted columns first."""
    metrics = ["kind", "ks_statistic", "psi", "wasserstein", "kl_divergence", "p_value", "missing_rate_change"]
    rows = pd.DataFrame.from_dict(drift_report["columns"], orient="index").reindex(
        columns=["drifted", *metrics, "reasons"]
    )
    rows["reasons"] = rows["reasons"].map(lambda r: "; ".join(r) if isinstance(r, list) else "")
    rows = rows.sort_values("drifted", ascending=False, kind="stable")
    table = rows.to_html(float_format=lambda v: f"{v:.4g}", na_rep="", escape=True, classes="drift")
    verdict = html.escape(drift_report["verdict"])
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Drift report</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} td:last-child{{text-align:left}}</style></head>
<body><h1>Drift: {verdict}</h1>
<p>Retrain signal: <b>{drift_report['retrain']}</b>. Drifted columns: {len(drift_report['drifted_columns'])}
of {drift_report['checked_columns']} ({html.escape(', '.join(drift_report['drifted_columns'])) or 'none'}).</p>
{table}
</body></html>
"""
