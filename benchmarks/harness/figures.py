"""What the measurements say: how time and memory grow with the rows (log-log exponents, the
model fit apart) and whether the targets are met."""

from __future__ import annotations

import numpy as np

TRAINING_PIPELINE = "training"


def exponent(rows: list[int], values: list[float]) -> float | None:
    """Slope of log(value) against log(rows): 1.0 is linear."""
    if len(rows) < 2 or any(v <= 0 for v in values):
        return None
    return round(float(np.polyfit(np.log(rows), np.log(values), 1)[0]), 3)


def scaling(results: dict) -> dict:
    """Time and memory against rows, apart from the model fit (the training pipeline).

    ``net`` subtracts the tiny-data time of each pipeline (process start, imports, fixed
    work such as the capped learning curve), so a constant does not flatten the slope.
    """
    sizes = [s for s in ("100k", "1m", "10m") if results.get(s, {}).get("complete")]
    tiny = results["tiny"]["pipelines"] if results.get("tiny", {}).get("complete") else {}

    def non_fit(size: str, key: str, net: bool = False) -> float | None:
        total = 0.0
        for name, figures in results[size]["pipelines"].items():
            if name == TRAINING_PIPELINE:
                continue
            value = figures["project"].get(key)
            if value is None:  # a failed pipeline: no figure for this size
                return None
            if net and name in tiny:
                value -= tiny[name]["project"].get(key, 0.0)
            total += value
        return round(total, 3)

    def non_fit_peak(size: str) -> float | None:
        peaks = [f["project"].get("peak_rss_mib") for n, f in results[size]["pipelines"].items()
                 if n != TRAINING_PIPELINE]
        return None if None in peaks or not peaks else max(peaks)

    rows = [results[s]["rows"] for s in sizes]
    points = {
        s: {
            "rows": results[s]["rows"],
            "wall_s_without_fit": non_fit(s, "wall_s"),
            "net_wall_s_without_fit": non_fit(s, "wall_s", net=True),
            "peak_rss_mib_without_fit": non_fit_peak(s),
            "fit_wall_s": results[s]["pipelines"].get(TRAINING_PIPELINE, {}).get("project", {}).get("wall_s"),
            "full_run_wall_s": results[s]["full_run"]["project"].get("wall_s"),
            "full_run_peak_rss_mib": results[s]["full_run"]["project"].get("peak_rss_mib"),
        }
        for s in sizes
    }

    def slope(key: str) -> float | None:
        values = [points[s][key] for s in sizes]
        return exponent(rows, values) if all(v is not None for v in values) else None

    return {
        "points": points,
        "time_exponent_without_fit": slope("wall_s_without_fit"),
        "net_time_exponent_without_fit": slope("net_wall_s_without_fit"),
        "memory_exponent_without_fit": slope("peak_rss_mib_without_fit"),
        "fit_time_exponent": slope("fit_wall_s"),
        "full_run_time_exponent": slope("full_run_wall_s"),
        "full_run_memory_exponent": slope("full_run_peak_rss_mib"),
    }


# ---------------------------------------------------------------------------------------------
# Targets and the README table


def targets(results: dict) -> list[dict]:
    def ratio(size: str, key: str) -> float | None:
        return (results.get(size, {}).get("full_run", {}).get("ratio") or {}).get(key)

    checks = [
        ("full kedro run wall at 1M rows", ratio("1m", "wall_s"), "<=", 1.15),
        ("full kedro run peak RSS at 1M rows", ratio("1m", "peak_rss_mib"), "<=", 1.3),
        ("cold kedro run on tiny data vs baseline imports+fit", ratio("tiny", "wall_s"), "<=", 2.0),
    ]
    if "full_run" in results.get("10m", {}):
        scale = results.get("scaling", {})
        checks.append(("10M rows complete (peak RSS GiB, 24 GiB machine)",
                       results["10m"]["full_run"]["project"].get("peak_rss_mib", 0) / 1024
                       if results["10m"]["full_run"]["project"].get("ok") else None, "<=", 24.0))
        checks.append(("time exponent without the fit (net of startup)",
                       scale.get("net_time_exponent_without_fit"), "<=", 1.1))
    for size in ("1m", "100k"):
        probe = results.get(size, {}).get("batch_inference") or {}
        if probe.get("ok"):
            checks.append((f"batch inference / raw model.predict throughput at {size}",
                           probe.get("ratio_vs_predict"), ">=", 0.9))
            break
    out = []
    for name, value, op, limit in checks:
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        out.append({"target": name, "value": None if value is None else round(value, 3),
                    "limit": f"{op} {limit}", "met": met})
    return out
