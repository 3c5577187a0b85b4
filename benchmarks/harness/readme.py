"""The results as tables: each results file rendered into ``benchmarks/README.md`` between the
results markers, with the container benchmark's cold start."""

from __future__ import annotations

import json

from harness.paths import BENCH, README, RESULTS

START, END = "<!-- results:start -->", "<!-- results:end -->"


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
