"""The serving benchmark's verdicts: each target read from the medians of the same run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import serving_bench  # noqa: E402


def medians(compiled: dict[str, dict[str, float]], mlflow: dict[str, dict[str, float]]) -> dict:
    return {**{("compiled", 1, cell): value for cell, value in compiled.items()},
            **{("mlflow", 1, cell): value for cell, value in mlflow.items()}}


def test_targets_are_ratios_to_mlflow_with_their_bounds():
    cell = {"p50_ms": 10.0, "p99_ms": 20.0, "req_per_s": 100.0}
    mlflow = {name: dict(cell) for name in ("sequential, 1 row", "sequential, 1000 rows", "16 clients, 1 row")}
    compiled = {
        "sequential, 1 row": {"p50_ms": 1.0, "p99_ms": 7.0, "req_per_s": 900.0},     # p50 0.1x met, p99 0.35x not
        "sequential, 1000 rows": {"p50_ms": 5.0, "p99_ms": 9.0, "req_per_s": 200.0},  # 0.5x: met at the bound
        "16 clients, 1 row": {"p50_ms": 2.0, "p99_ms": 4.0, "req_per_s": 499.0},      # 4.99x: not met
    }
    verdicts = {t["target"]: (t["measured_ratio"], t["met"])
                for t in serving_bench.targets(medians(compiled, mlflow), {"ratio": 2.5})}
    assert list(verdicts.values()) == [(0.1, True), (0.35, False), (0.5, True), (4.99, False), (2.5, True)]
