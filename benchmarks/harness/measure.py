"""Measuring a child process tree (wall time, CPU time, peak RSS), and the project and the
baseline side by side: interleaved repetitions, medians and their ratios."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

import psutil

from harness.paths import ROOT

# The environment of every child process.
ENV = {
    **os.environ,
    "DO_NOT_TRACK": "1",
    "KEDRO_DISABLE_TELEMETRY": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "COLUMNS": "160",
}


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
