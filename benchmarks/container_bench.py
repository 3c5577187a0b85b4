"""Container image: size, build time (cold, then after a code-only change) and serve start-up.

Builds the Dockerfile twice from a copy of the build context: once without the build cache
(cold, the dependency layers included) and once after a one-line change in the package's
source, which must reuse the dependency layers. Then it starts ``serve`` on a small model and
times container start to the first successful ``/ping``. The baseline of the start-up is the
same image starting a container that only imports pandas and scikit-learn (the least a Python
model server loads). Results: benchmarks/results/container.json. Goals: image < 1 GB,
code-only rebuild < 30 s.

    python benchmarks/container_bench.py [--skip-cold]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.model_factory import write_model_dir  # noqa: E402
from tests.support.docker_engine import BASE_IMAGE, ensure_base_image, ensure_docker  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "container.json"
# What .dockerignore lets into the build context, and the Dockerfile itself.
CONTEXT = ("Dockerfile", ".dockerignore", "pyproject.toml", "uv.lock", "README.md", "src", "conf", "docker")
GOALS = {"image_size_bytes_max": 1_000_000_000, "code_only_rebuild_seconds_max": 30.0}


def docker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result


def copy_context(destination: Path) -> Path:
    destination.mkdir(parents=True)
    for name in CONTEXT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__", "local"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def timed_build(env: dict[str, str], context: Path, tag: str, *extra: str) -> float:
    start = time.perf_counter()
    docker(env, "build", "--network=host", *extra, "-t", tag, str(context))
    return time.perf_counter() - start


def image_size(env: dict[str, str], tag: str) -> int:
    return int(docker(env, "image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seconds_to_first_ping(env: dict[str, str], tag: str, model_dir: Path) -> float:
    port = free_port()
    name = f"ml-on-aws-bench-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    docker(env, "run", "-d", "--name", name, "--network=host", "-e", f"SAGEMAKER_BIND_TO_PORT={port}",
           "-e", "SAGEMAKER_MODEL_SERVER_WORKERS=1", "-v", f"{model_dir}:/opt/ml/model:ro", tag, "serve")
    try:
        while time.perf_counter() - start < 600:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"/ping never answered 200: {docker(env, 'logs', name).stdout[-2000:]}")
    finally:
        subprocess.run(["docker", "rm", "-f", name], env=env, capture_output=True)


def seconds_to_import_baseline(env: dict[str, str], tag: str) -> float:
    start = time.perf_counter()
    docker(env, "run", "--rm", "--network=host", "--entrypoint", "python", tag, "-c", "import pandas, sklearn.ensemble")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-cold", action="store_true", help="keep the cache for the first build too")
    args = parser.parse_args()
    env = {**os.environ, **ensure_docker()}
    ensure_base_image()
    tag = f"ml-on-aws:bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        context = copy_context(Path(folder) / "context")
        cold = timed_build(env, context, tag, *(() if args.skip_cold else ("--no-cache",)))
        init = context / "src" / "ml_on_aws" / "__init__.py"
        init.write_text(init.read_text() + f"\n# benchmark code-only change {uuid.uuid4().hex}\n")
        code_only = timed_build(env, context, tag)
        size = image_size(env, tag)
        model_dir = write_model_dir(Path(folder) / "model")
        first_ping = [seconds_to_first_ping(env, tag, model_dir) for _ in range(3)]
        baseline = [seconds_to_import_baseline(env, tag) for _ in range(3)]
    docker(env, "image", "rm", "-f", tag)
    base_size = image_size(env, BASE_IMAGE)
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "base_image": BASE_IMAGE,
        "base_image_size_bytes": base_size,
        "image_size_bytes": size,
        "added_to_base_bytes": size - base_size,
        "build_seconds": {"cold" if not args.skip_cold else "first": round(cold, 1), "code_only_change": round(code_only, 1)},
        "start_to_first_ping_seconds": {"runs": [round(t, 2) for t in first_ping], "median": round(sorted(first_ping)[1], 2)},
        "baseline_import_pandas_sklearn_seconds": {"runs": [round(t, 2) for t in baseline], "median": round(sorted(baseline)[1], 2)},
        "ratio_first_ping_to_baseline": round(sorted(first_ping)[1] / sorted(baseline)[1], 2),
        "goals": GOALS,
        "goals_met": {"image_size": size < GOALS["image_size_bytes_max"],
                      "code_only_rebuild": code_only < GOALS["code_only_rebuild_seconds_max"]},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
