"""Validation speed: Great Expectations vs a plain pandas check of the same rules, same run.

    .venv/bin/python benchmarks/validation_bench.py [--rows 1000000]

Builds a 1M-row x 20-column table (numbers with missing values, text categories, a target),
generates the suite with the project's ``build_suite`` from a clean copy, spoils a few values
so that some expectations fail, then validates it with the project's GX runner and with pandas.
Writes benchmarks/results/validation.json (timings in seconds and their ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ml_on_aws.core.config import DataConfig  # noqa: E402
from ml_on_aws.pipelines.data_validation.suite import build_suite, entries_for  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import pandas_check  # noqa: E402 - the baseline's own check of the same rules

RESULTS = Path(__file__).resolve().parent / "results" / "validation.json"


def make_table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {"target": rng.choice(["yes", "no"], rows)}
    for i in range(12):
        values = rng.normal(100 * (i + 1), 10 * (i + 1), rows)
        if i % 3 == 0:
            values = np.round(values).astype("int64")
        else:
            values[rng.random(rows) < 0.05] = np.nan
        columns[f"num_{i}"] = values
    for i in range(7):
        levels = np.array([f"level_{j}" for j in range(3 + 2 * i)], dtype=object)
        values = rng.choice(levels, rows).astype(object)
        values[rng.random(rows) < 0.01] = None
        columns[f"cat_{i}"] = pd.array(values, dtype="str")
    return pd.DataFrame(columns)


def spoil(frame: pd.DataFrame) -> pd.DataFrame:
    """Some failures, as real batches have: out-of-range numbers and an unseen category."""
    spoiled = frame.copy()
    spoiled.loc[spoiled.index[::1000], "num_1"] = 1e9
    spoiled.loc[spoiled.index[::500], "cat_2"] = "unseen"
    return spoiled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

    clean = make_table(args.rows)
    entries = entries_for(build_suite(clean, DataConfig(task="classification", target="target"), "bench"), "training")
    table = spoil(clean)
    del clean

    start = time.perf_counter()
    import great_expectations  # noqa: F401

    from ml_on_aws.pipelines.data_validation.expectations import validate_frame

    gx_import = time.perf_counter() - start

    start = time.perf_counter()
    pandas_outcomes = pandas_check(table, [(e.type, e.kwargs) for e in entries])
    pandas_seconds = time.perf_counter() - start

    start = time.perf_counter()
    gx_outcomes, _ = validate_frame(table, entries, "bench", example_values=5)
    gx_seconds = time.perf_counter() - start

    start = time.perf_counter()
    validate_frame(table, entries, "bench", example_values=5, observe_passing=True)
    gx_observed_seconds = time.perf_counter() - start

    disagreements = [
        e.type + f"({e.kwargs.get('column')})"
        for e, p, g in zip(entries, pandas_outcomes, gx_outcomes, strict=True)
        if p != g["success"]
    ]
    result = {
        "rows": len(table),
        "columns": len(table.columns),
        "expectations": len(entries),
        "failed_expectations": sum(not ok for ok in pandas_outcomes),
        "great_expectations_seconds": round(gx_seconds, 3),
        "pandas_seconds": round(pandas_seconds, 3),
        "ratio_gx_to_pandas": round(gx_seconds / pandas_seconds, 2),
        "great_expectations_observe_passing_seconds": round(gx_observed_seconds, 3),
        "great_expectations_import_seconds": round(gx_import, 3),
        "outcomes_agree": not disagreements,
        "disagreements": disagreements,
        "result_format": "BOOLEAN_ONLY, then SUMMARY (5 example values) for failed ones; observe_passing: SUMMARY for all",
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 1), "python": platform.python_version(), "platform": platform.platform()},
        "versions": {"great_expectations": great_expectations.__version__, "pandas": pd.__version__},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
