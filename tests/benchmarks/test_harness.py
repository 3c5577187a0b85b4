"""The benchmark harness's own logic: data scaling, parameter overrides, ratios and exponents."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import baseline  # noqa: E402
import run  # noqa: E402
import scale_data  # noqa: E402
from harness import figures, measure  # noqa: E402


def test_noisy_sample_keeps_schema_and_labels_but_not_values():
    source = pd.read_csv(scale_data.SOURCES["train"])
    sample = scale_data.noisy_sample(source, 5_000, np.random.default_rng(0))
    assert len(sample) == 5_000
    assert list(sample.columns) == list(source.columns)
    assert (sample.dtypes == source.dtypes).all()
    assert set(sample["Status"]) <= set(source["Status"])
    assert set(sample["Home"].dropna()) <= set(source["Home"].dropna())
    # noise: most sampled amounts are not a value present in the source
    assert (~sample["Amount"].isin(set(source["Amount"]))).mean() > 0.3


def test_scaled_file_is_written_in_chunks_with_one_header(tmp_path, monkeypatch):
    monkeypatch.setattr(scale_data, "CHUNK_ROWS", 300)
    path = scale_data.write_scaled("new", 1_000, tmp_path / "new.csv", seed=1)
    table = pd.read_csv(path)
    assert len(table) == 1_000
    assert list(table.columns) == list(pd.read_csv(scale_data.SOURCES["new"], nrows=0).columns)


def test_baseline_applies_kedro_style_overrides_to_the_project_parameters():
    params = baseline.load_parameters("training.search.n_iter=2,training.estimator.kwargs.max_iter=50")
    assert params["training"]["search"]["n_iter"] == 2
    assert params["training"]["estimator"]["kwargs"] == {"random_state": 42, "max_iter": 50}
    assert params["training"]["search"]["cv"] == 4  # untouched keys keep the conf/base value


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_exponent_is_the_log_log_slope(power):
    rows = [100_000, 1_000_000, 10_000_000]
    assert figures.exponent(rows, [3.0 * r**power for r in rows]) == pytest.approx(power, abs=1e-3)


def test_ratios_only_when_both_sides_succeeded():
    mine = {"ok": True, "wall_s": 12.0, "cpu_s": 10.0, "peak_rss_mib": 300.0}
    theirs = {"ok": True, "wall_s": 10.0, "cpu_s": 10.0, "peak_rss_mib": 200.0}
    assert measure.compare(mine, theirs)["ratio"] == {"wall_s": 1.2, "cpu_s": 1.0, "peak_rss_mib": 1.5}
    assert "ratio" not in measure.compare(mine, {**theirs, "ok": False})
    assert "ratio" not in measure.compare(mine, None)


def test_targets_report_unmeasured_as_unknown_not_met():
    checks = {t["target"]: t for t in figures.targets({})}
    assert all(t["met"] is None for t in checks.values())


def _size(rows: int, seconds_per_row: float, fit_seconds: float) -> dict:
    def figures(wall: float) -> dict:
        return {"project": {"ok": True, "wall_s": wall, "cpu_s": wall, "peak_rss_mib": rows / 1e4}}

    return {
        "complete": True,
        "rows": rows,
        "full_run": figures(rows * seconds_per_row + fit_seconds),
        "pipelines": {"feature_engineering": figures(rows * seconds_per_row), "training": figures(fit_seconds)},
    }


def test_scaling_leaves_the_fit_out_of_the_time_exponent():
    results = {"100k": _size(100_000, 1e-5, 5.0), "1m": _size(1_000_000, 1e-5, 500.0)}
    scale = figures.scaling(results)
    assert scale["time_exponent_without_fit"] == pytest.approx(1.0, abs=1e-3)
    assert scale["fit_time_exponent"] == pytest.approx(2.0, abs=1e-3)
    assert scale["memory_exponent_without_fit"] == pytest.approx(1.0, abs=1e-3)


def test_merge_combines_sizes_measured_in_separate_runs(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(run, "RESULTS", tmp_path)
    monkeypatch.setattr(run, "write_readme", lambda: None)
    common = {"machine": {"cpu_count_logical": 2}, "bench_params": "x=1", "started_at": "a", "finished_at": "b"}
    (tmp_path / "default.json").write_text(json.dumps({**common, "1m": _size(1_000_000, 1e-5, 50.0)}))
    (tmp_path / "small.json").write_text(json.dumps({**common, "100k": _size(100_000, 1e-5, 5.0)}))
    run.merge(["default", "small"], "default")
    merged = json.loads((tmp_path / "default.json").read_text())
    assert {"100k", "1m"} <= merged.keys()
    assert merged["scaling"]["time_exponent_without_fit"] == pytest.approx(1.0, abs=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default.json"]
