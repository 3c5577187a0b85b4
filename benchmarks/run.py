"""Benchmark harness: the project against a plain pandas + scikit-learn script, same run, same machine.

    python benchmarks/run.py               # tiny, 100k and 1M rows (~15 min on 2 cores)
    python benchmarks/run.py --with-10m    # adds 10M rows (long: one repetition per side)
    python benchmarks/run.py --sizes 100k --repeats 1  # a quick look

For each size it generates the data (``scale_data.py``, into ``benchmarks/data/``), makes a
throwaway copy of the project whose raw files point at it, and measures as child processes:
``kedro run`` (the default pipeline, whatever it contains) against ``baseline.py`` (all
stages in one process), then each registered pipeline against the matching baseline stage.
Per process it records wall time, CPU time and peak RSS of the whole process tree (search
workers included). In-process probes time batch inference against ``model.predict``.
Results go to ``benchmarks/results/<name>.json`` and, as tables, into ``benchmarks/README.md``.
Machines are noisy: the ratios (project / baseline, measured side by side) are the figures
that count, not the absolute times. This file is the command line and the plan of a run; the
harness's parts are the modules of ``benchmarks/harness/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
from collections.abc import Callable

import scale_data
from harness.figures import scaling, targets
from harness.machine import machine
from harness.measure import paired
from harness.paths import KEDRO, PYTHON, RESULTS, WORK
from harness.readme import write_readme
from harness.sides import (
    BASELINE_STAGES,
    BENCH_PARAMS,
    baseline_run,
    inference_probe,
    kedro_run,
    make_project,
    registered_pipelines,
)

SIZES = {"tiny": 1_000, "100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
# Repetitions of each full run (median reported). Large sizes get fewer: a 1M run takes
# minutes, a 10M run much longer; the per-pipeline runs are done once per size.
REPEATS = {"tiny": 3, "100k": 3, "1m": 2, "10m": 1}


def bench_size(label: str, rows: int, repeats: int, result: dict, checkpoint: Callable[[], None]) -> dict:
    """Fill ``result`` for one size, calling ``checkpoint`` after each measurement (a stopped run keeps them)."""
    print(f"[{label}] generating data ({rows} rows)", flush=True)
    data = scale_data.dataset(rows)
    project = make_project(label, data)
    logs = WORK / "logs" / label
    shutil.rmtree(logs, ignore_errors=True)
    base_dir = WORK / f"baseline_{label}"
    shutil.rmtree(base_dir, ignore_errors=True)
    result.update(rows=rows, new_rows=max(rows // 5, 1))

    print(f"[{label}] full run x{repeats} per side", flush=True)
    result["full_run"] = paired(kedro_run(), baseline_run(data, base_dir), project, logs / "full", repeats)
    checkpoint()

    print(f"[{label}] each pipeline once per side", flush=True)
    per_pipeline = result["pipelines"] = {}
    runnable, result["pipelines_skipped_for_missing_inputs"] = registered_pipelines(project)
    for name in runnable:
        baseline = baseline_run(data, base_dir, name) if name in BASELINE_STAGES else None
        figures = paired(kedro_run(name), baseline, project, logs / name, 1)
        per_pipeline[name] = {**figures, "rows_per_s": round(rows / figures["project"]["wall_s"], 1)
                              if figures["project"].get("ok") else None}
        checkpoint()

    print(f"[{label}] batch inference probe", flush=True)
    result["batch_inference"] = inference_probe(project, data["new"])
    result["complete"] = True
    checkpoint()
    return result


def bench_cold_start(repeats: int, out: dict, checkpoint: Callable[[], None]) -> dict:
    """A full run on tiny data (startup and imports dominate) and ``kedro --help``."""
    bench_size("tiny", SIZES["tiny"], repeats, out, checkpoint)
    project = WORK / "project_tiny"
    logs = WORK / "logs" / "tiny"
    bare_imports = [PYTHON, "-c", "import pandas, sklearn.ensemble, sklearn.model_selection"]
    out["kedro_help"] = paired([KEDRO, "--help"], bare_imports, project, logs / "help", repeats)
    out["kedro_help"]["baseline_is"] = "python -c 'import pandas, sklearn.ensemble, sklearn.model_selection'"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-10m", action="store_true", help="also benchmark 10M rows (long)")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), help="only these sizes")
    parser.add_argument("--repeats", type=int, help="full runs per side for every size (default: per-size table)")
    parser.add_argument("--name", help="results file name (default: 'default', or 'with-10m')")
    parser.add_argument("--merge", nargs="+", metavar="NAME",
                        help="combine sizes of earlier results files (e.g. runs done in parallel) into --name")
    parser.add_argument("--readme-only", action="store_true", help="re-render the README from results/*.json")
    args = parser.parse_args()
    # `kill PID` stops the run in progress too (measure() kills the child tree on the way out).
    signal.signal(signal.SIGTERM, _interrupt)
    if args.readme_only:
        write_readme()
        return
    if args.merge:
        merge(args.merge, args.name or "merged")
        return
    sizes = args.sizes or ["tiny", "100k", "1m", *(["10m"] if args.with_10m else [])]
    name = args.name or ("with-10m" if "10m" in sizes else "default")
    results: dict = {"machine": machine(), "bench_params": BENCH_PARAMS,
                     "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}

    def checkpoint() -> None:
        """Keep and show what is measured so far, should a later step fail or be stopped."""
        results["scaling"] = scaling(results)
        results["targets"] = targets(results)
        results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results["load_average_at_finish"] = [round(x, 2) for x in os.getloadavg()]
        _save(results, name)
        write_readme()

    for size in sizes:
        repeats = args.repeats or REPEATS[size]
        results[size] = {}
        if size == "tiny":
            bench_cold_start(repeats, results[size], checkpoint)
        else:
            bench_size(size, SIZES[size], repeats, results[size], checkpoint)
    checkpoint()
    print(json.dumps(results["targets"], indent=2))


def merge(names: list[str], name: str) -> None:
    """One results file from the sizes of several; machine and timing of each part are kept."""
    parts = {part: json.loads((RESULTS / f"{part}.json").read_text()) for part in names}
    results: dict = {"merged_from": {part: {k: r.get(k) for k in ("machine", "started_at", "finished_at")}
                                     for part, r in parts.items()}}
    for part in parts.values():
        results.update({size: part[size] for size in SIZES if size in part})
        results.setdefault("machine", part["machine"])
        results.setdefault("bench_params", part["bench_params"])
    results["scaling"] = scaling(results)
    results["targets"] = targets(results)
    results["finished_at"] = max(r["finished_at"] for r in parts.values())
    _save(results, name)
    for part in set(names) - {name}:
        (RESULTS / f"{part}.json").unlink()
    write_readme()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _save(results: dict, name: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
