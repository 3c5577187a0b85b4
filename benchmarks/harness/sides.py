"""The two sides on the same data: a throwaway copy of the project whose raw files are the scaled
data, the ``kedro run`` and ``baseline.py`` commands, the pipelines the copy can run and the
batch inference probe (``inference_probe.py``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from harness.measure import ENV
from harness.paths import BENCH, KEDRO, PYTHON, ROOT, WORK

BASELINE_STAGES = ("data_validation", "feature_engineering", "training", "evaluation", "inference")
# The same search for both sides, small enough to benchmark 1M+ rows on 2 cores:
# conf/base keeps its defaults, these are `kedro run --params` overrides.
BENCH_PARAMS = (
    "training.search.n_iter=2,training.search.cv=2,training.estimator.kwargs.max_iter=50,"
    "evaluation.learning_curve_max_rows=5000,evaluation.plot_max_rows=2000"
)


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

def registered_pipelines(project: Path) -> tuple[list[str], list[str]]:
    """The project's pipelines (not ``__default__``) in registry order: those whose inputs exist
    after the full run, and those that need data a user provides (e.g. a test table)."""
    done = subprocess.run([PYTHON, str(BENCH / "harness" / "runnable_pipelines.py")], cwd=project, env=ENV,
                          capture_output=True, text=True, check=True)
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith(("run ", "skip "))]
    runnable = [name for verdict, name in lines if verdict == "run" and name != "__default__"]
    return runnable, [name for verdict, name in lines if verdict == "skip" and name != "__default__"]


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
