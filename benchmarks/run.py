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
that count, not the absolute times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import scale_data  # noqa: E402

PYTHON = sys.executable
KEDRO = str(Path(PYTHON).with_name("kedro"))
WORK = scale_data.DATA_DIR / "work"
RESULTS = BENCH / "results"
README = BENCH / "README.md"
BASELINE_STAGES = ("data_validation", "feature_engineering", "training", "evaluation", "inference")
TRAINING_PIPELINE = "training"

SIZES = {"tiny": 1_000, "100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
# Repetitions of each full run (median reported). Large sizes get fewer: a 1M run takes
# minutes, a 10M run much longer; the per-pipeline runs are done once per size.
REPEATS = {"tiny": 3, "100k": 3, "1m": 2, "10m": 1}
# The same search for both sides, small enough to benchmark 1M+ rows on 2 cores:
# conf/base keeps its defaults, these are `kedro run --params` overrides.
BENCH_PARAMS = (
    "training.search.n_iter=2,training.search.cv=2,training.estimator.kwargs.max_iter=50,"
    "evaluation.learning_curve_max_rows=5000,evaluation.plot_max_rows=2000"
)

ENV = {
    **os.environ,
    "DO_NOT_TRACK": "1",
    "KEDRO_DISABLE_TELEMETRY": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "COLUMNS": "160",
}


def machine() -> dict:
    memory = psutil.virtual_memory().total
    return {
        "cpu_count_logical": psutil.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_model": _cpu_model(),
        "memory_gib": round(memory / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


# ---------------------------------------------------------------------------------------------
# Measuring a child process tree


def measure(command: list[str], cwd: Path, log: Path) -> dict:
    """Wall time, CPU time (user + system, all descendants) and peak RSS of the process tree.

    RSS is the sum over the tree sampled every 50 ms (search workers hold their own copies).
    CPU is the larger of ``getrusage(RUSAGE_CHILDREN)`` (reaped descendants) and the sum of
    the last sampled CPU times of each process seen (workers that exit unreaped).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("w") as output:
        process = psutil.Popen(command, cwd=cwd, env=ENV, stdout=output, stderr=subprocess.STDOUT)
        try:
            peak, cpu_seen = _sample_until_exit(process)
        except BaseException:  # interrupted: leave no orphaned run behind
            for member in [*process.children(recursive=True), process]:
                member.kill()
            raise
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "ok": process.returncode == 0,
        "wall_s": round(wall, 3),
        "cpu_s": round(max(cpu, sum(cpu_seen.values())), 3),
        "peak_rss_mib": round(peak / 2**20, 1),
        "log": str(log.relative_to(ROOT)),
    }


def _sample_until_exit(process: psutil.Popen) -> tuple[int, dict[int, float]]:
    """Peak summed RSS of the tree, and the last CPU seconds seen for each process in it."""
    peak, cpu_seen = 0, {}
    while process.poll() is None:
        rss = 0
        try:
            tree = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for member in tree:
            try:
                rss += member.memory_info().rss
                times = member.cpu_times()
                cpu_seen[member.pid] = times.user + times.system
            except psutil.Error:
                continue
        peak = max(peak, rss)
        time.sleep(0.05)
    return peak, cpu_seen


def summarize(runs: list[dict]) -> dict:
    """Median of each figure over the runs, with every run kept."""
    ok = [r for r in runs if r["ok"]]
    summary = {key: round(statistics.median(r[key] for r in ok), 3) for key in ("wall_s", "cpu_s", "peak_rss_mib")} if ok else {}
    return {**summary, "ok": len(ok) == len(runs), "repeats": len(runs), "runs": runs}


def paired(project_command: list[str], baseline_command: list[str] | None, cwd: Path, log: Path,
           repeats: int) -> dict:
    """Project and baseline runs interleaved (A B A B ...), so load changes hit both sides alike."""
    mine, theirs = [], []
    for i in range(repeats):
        mine.append(measure(project_command, cwd, log.with_name(f"project_{log.name}.{i}.log")))
        if baseline_command:
            theirs.append(measure(baseline_command, cwd, log.with_name(f"baseline_{log.name}.{i}.log")))
    return compare(summarize(mine), summarize(theirs) if theirs else None)


def compare(project: dict, baseline: dict | None) -> dict:
    """Project value, baseline value and their ratio for each figure."""
    out = {"project": project, "baseline": baseline}
    if baseline and project.get("ok") and baseline.get("ok"):
        out["ratio"] = {
            key: round(project[key] / baseline[key], 3)
            for key in ("wall_s", "cpu_s", "peak_rss_mib")
            if baseline.get(key)
        }
    return out


# ---------------------------------------------------------------------------------------------
# The project copy and the two sides


def make_project(label: str, data: dict[str, Path]) -> Path:
    """A fresh copy of conf + pyproject whose bundled raw files are links to the scaled data."""
    project = WORK / f"project_{label}"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir(exist_ok=True)
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy2(ROOT / name, project / name)
    (project / "src").mkdir()  # Kedro checks it exists; the package is installed in the venv
    for folder in (ROOT / "data").iterdir():
        if folder.is_dir():
            (project / "data" / folder.name).mkdir(parents=True, exist_ok=True)
    (project / "data/01_raw/credit_data.csv").symlink_to(data["train"])
    (project / "data/01_raw/credit_data_new.csv").symlink_to(data["new"])
    return project


def kedro_run(pipeline: str | None = None) -> list[str]:
    return [KEDRO, "run", f"--params={BENCH_PARAMS}", *([f"--pipelines={pipeline}"] if pipeline else [])]


def baseline_run(data: dict[str, Path], workdir: Path, stage: str = "all") -> list[str]:
    return [PYTHON, str(BENCH / "baseline.py"), "--data", str(data["train"]), "--new-data", str(data["new"]),
            "--workdir", str(workdir), "--params", BENCH_PARAMS, "--stage", stage]


_RUNNABLE_PIPELINES = """
from pathlib import Path
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path.cwd())
with KedroSession.create() as session:
    catalog = session.load_context().catalog
    for name, pipeline in pipelines.items():
        files = [catalog.get(i) for i in pipeline.inputs() if not i.startswith("params:") and i != "parameters"]
        files = [d for d in files if getattr(d, "_filepath", None) is not None]  # not the registry, memory
        print(("run " if all(d.exists() for d in files) else "skip ") + name)
"""


def registered_pipelines(project: Path) -> tuple[list[str], list[str]]:
    """The project's pipelines (not ``__default__``) in registry order: those whose inputs exist
    after the full run, and those that need data a user provides (e.g. a test table)."""
    done = subprocess.run([PYTHON, "-c", _RUNNABLE_PIPELINES], cwd=project, env=ENV, capture_output=True,
                          text=True, check=True)
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith(("run ", "skip "))]
    runnable = [name for verdict, name in lines if verdict == "run" and name != "__default__"]
    return runnable, [name for verdict, name in lines if verdict == "skip" and name != "__default__"]


# ---------------------------------------------------------------------------------------------
# Benchmarks


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


def inference_probe(project: Path, new_data: Path) -> dict | None:
    """Rows/s of the inference node function vs raw ``model.predict`` on the same frame, in one process."""
    models = sorted((project / "data/06_models/model").glob("*/model"))  # MLflow model folders, by version
    if not models:
        return None
    done = subprocess.run(
        [PYTHON, str(BENCH / "inference_probe.py"), str(models[-1]), str(new_data), str(project)],
        cwd=project, env=ENV, capture_output=True, text=True,
    )
    if done.returncode != 0:
        return {"ok": False, "error": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_cold_start(repeats: int, out: dict, checkpoint: Callable[[], None]) -> dict:
    """A full run on tiny data (startup and imports dominate) and ``kedro --help``."""
    bench_size("tiny", SIZES["tiny"], repeats, out, checkpoint)
    project = WORK / "project_tiny"
    logs = WORK / "logs" / "tiny"
    bare_imports = [PYTHON, "-c", "import pandas, sklearn.ensemble, sklearn.model_selection"]
    out["kedro_help"] = paired([KEDRO, "--help"], bare_imports, project, logs / "help", repeats)
    out["kedro_help"]["baseline_is"] = "python -c 'import pandas, sklearn.ensemble, sklearn.model_selection'"
    return out


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


def markdown(results: dict) -> str:
    m = results["machine"]
    if "merged_from" in results:
        parts = "; ".join(
            f"`{name}` {part['started_at']} to {part['finished_at']}, commit `{part['machine']['git_commit'][:10]}`, "
            f"load average at start {part['machine']['load_average_at_start']}"
            for name, part in results["merged_from"].items())
        when = f"Merged from runs on the same machine ({parts})"
    else:
        when = (f"Run {results['finished_at']}; commit `{m['git_commit'][:10]}`; load average at start "
                f"{m['load_average_at_start']}, at finish {results.get('load_average_at_finish', '?')}")
    lines = [
        f"{m['cpu_count_logical']} logical cores ({m['cpu_model']}), {m['memory_gib']} GiB. {when}. "
        f"Search overrides (both sides): `{results['bench_params']}`.",
        "",
        "| target | value | limit | met |",
        "|---|---|---|---|",
    ]
    for t in results["targets"]:
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        value = "not measured" if t["value"] is None else t["value"]
        lines.append(f"| {t['target']} | {value} | {t['limit']} | {met} |")
    lines += ["", "| size | what | runs | wall s (project / baseline / ratio) | CPU s | peak RSS MiB | rows/s |",
              "|---|---|---|---|---|---|---|"]
    for size in ("tiny", "100k", "1m", "10m"):
        if size not in results:
            continue
        entry = results[size]
        rows = [("full run", entry["full_run"], None)] if "full_run" in entry else []
        rows += [(f"pipeline `{n}`", f, f.get("rows_per_s")) for n, f in entry.get("pipelines", {}).items()]
        if "kedro_help" in entry:
            rows.append(("`kedro --help` vs bare imports", entry["kedro_help"], None))
        for what, figures, per_s in rows:
            lines.append(f"| {size} | {what} | {figures['project'].get('repeats', 1)} | "
                         + " | ".join(_triple(figures, key) for key in ("wall_s", "cpu_s", "peak_rss_mib"))
                         + f" | {per_s or ''} |")
    lines += ["", "| size | batch inference rows/s (node) | raw model.predict rows/s | ratio | "
              "predict + predict_proba rows/s | ratio |", "|---|---|---|---|---|---|"]
    for size in ("tiny", "100k", "1m", "10m"):
        probe = (results.get(size) or {}).get("batch_inference") or {}
        if probe.get("ok"):
            lines.append(f"| {size} | {probe['node_rows_per_s']:,.0f} | {probe['predict_rows_per_s']:,.0f} | "
                         f"{probe['ratio_vs_predict']} | {probe['predict_and_proba_rows_per_s']:,.0f} | "
                         f"{probe['ratio_vs_predict_and_proba']} |")
    scale = results.get("scaling")
    if scale and scale.get("points"):
        lines += ["", "Scaling (project side; *without fit* = every pipeline except `training`):", "",
                  "| size | rows | wall s without fit | net of tiny-run | peak RSS MiB without fit | fit wall s |",
                  "|---|---|---|---|---|---|"]
        for size, p in scale["points"].items():
            lines.append(f"| {size} | {p['rows']:,} | {p['wall_s_without_fit']} | {p['net_wall_s_without_fit']} | "
                         f"{p['peak_rss_mib_without_fit']} | {p['fit_wall_s']} |")
        lines += ["", f"Fitted exponents (log-log slope): time without fit {scale['time_exponent_without_fit']}, "
                  f"net of startup {scale['net_time_exponent_without_fit']}; memory without fit "
                  f"{scale['memory_exponent_without_fit']}; fit time {scale['fit_time_exponent']}; "
                  f"full run time {scale['full_run_time_exponent']}, memory {scale['full_run_memory_exponent']}."]
    lines += ["", container_cold_start()]
    return "\n".join(lines)


def container_cold_start() -> str:
    """The container's ``serve`` to first ``/ping``, measured by ``container_bench.py`` (it needs Docker)."""
    path = RESULTS / "container.json"
    if not path.exists():
        return "Container `serve` to first `/ping`: not measured (`python benchmarks/container_bench.py`, needs Docker)."
    container = json.loads(path.read_text())
    return (f"Container `serve` to first `/ping` (`container_bench.py`, {container['measured_at'][:10]}): median "
            f"{container['start_to_first_ping_seconds']['median']} s, "
            f"{container['ratio_first_ping_to_baseline']}x a container of the same image that only imports pandas and "
            "scikit-learn.")


def _triple(figures: dict, key: str) -> str:
    mine = figures["project"].get(key)
    theirs = (figures.get("baseline") or {}).get(key)
    ratio = (figures.get("ratio") or {}).get(key)
    if not figures["project"].get("ok", False):
        return "failed"
    return f"{mine} / {theirs if theirs is not None else '-'} / {ratio if ratio is not None else '-'}"


START, END = "<!-- results:start -->", "<!-- results:end -->"


def write_readme() -> None:
    """Replace the block between the markers with one section per results file."""
    sections = []
    for path in sorted(RESULTS.glob("*.json")):
        results = json.loads(path.read_text())
        if "bench_params" not in results:
            continue  # another benchmark's file (container, serving, S3, validation): its own section
        sections.append(f"### `{path.relative_to(BENCH)}`\n\n{markdown(results)}\n")
    text = README.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{START}\n{chr(10).join(sections)}{END}{tail}")


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
