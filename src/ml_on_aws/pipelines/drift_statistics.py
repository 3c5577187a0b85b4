"""Per-column drift statistics from scipy: effect sizes, and tests that they are not noise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from ml_on_aws.core.dtypes import is_numeric

# Added to every bin share so that PSI stays finite when a bin is empty on one side.
_EMPTY_BIN_SHARE = 1e-4


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
