"""What keeping every dataset on S3 costs: the same pipeline on the same data, `--env aws` vs local.

S3 is moto's server on 127.0.0.1 (real HTTP, no network latency), so the ratio measures the
S3 code path itself (s3fs, request signing, serialisation through HTTP, Kedro's version
lookups); against real S3 add the round-trip time per request. Runs alternate local/aws to
spread the machine's noise over both. Result: benchmarks/results/s3.json.

    .venv/bin/python benchmarks/s3_bench.py [--repeats 2] [--params training.search.n_iter=2,...]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import copy_project  # noqa: E402  (the project copy the tests use)

KEDRO = str(Path(sys.executable).with_name("kedro"))
BUCKET, PREFIX = "ml-on-aws-bench", "bench"
# Small search so that I/O is a visible share of the run; the full search only dilutes the ratio.
DEFAULT_PARAMS = "training.search.n_iter=2,training.search.cv=2,evaluation.learning_curve_cv=2"
_COMPLETED = re.compile(r"completed successfully in ([0-9.]+) sec")


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed_run(project: Path, env: dict[str, str], args: list[str]) -> dict[str, float]:
    """Wall time, the kedro process's CPU time, and this process's CPU time (moto's server thread)."""
    started, children, own = time.perf_counter(), _cpu_seconds(resource.RUSAGE_CHILDREN), _cpu_seconds(resource.RUSAGE_SELF)
    result = subprocess.run([KEDRO, "run", *args], cwd=project, env={**env, "COLUMNS": "200"},
                            capture_output=True, text=True)
    wall = time.perf_counter() - started
    kedro_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - children
    server_cpu = _cpu_seconds(resource.RUSAGE_SELF) - own
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"kedro run {' '.join(args)} failed:\n{output[-3000:]}")
    match = _COMPLETED.search(output.replace("\n", " "))
    return {"wall_seconds": round(wall, 2), "pipeline_seconds": float(match.group(1)) if match else None,
            "kedro_cpu_seconds": round(kedro_cpu, 2), "s3_server_cpu_seconds": round(server_cpu, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--params", default=DEFAULT_PARAMS)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results/s3.json")
    options = parser.parse_args()

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp) / "project")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ML_ON_AWS_"))},
            "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(Path(tmp) / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(Path(tmp) / "none"),
            "AWS_ENDPOINT_URL": endpoint, "ML_ON_AWS_BUCKET": BUCKET, "ML_ON_AWS_PREFIX": PREFIX,
        }
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket=BUCKET)
        subprocess.run([KEDRO, "data", "upload"], cwd=project, env=env, check=True, capture_output=True)

        runs: dict[str, list[dict[str, float]]] = {"local": [], "aws": []}
        for repeat in range(options.repeats):
            for name, extra in (("local", []), ("aws", ["--env", "aws"])):
                runs[name].append(timed_run(project, env, [*extra, "--params", options.params]))
                print(f"repeat {repeat + 1} {name}: {runs[name][-1]}")
        objects = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
                   for o in page.get("Contents", [])]
    server.stop()

    def median(name: str, key: str) -> float:
        return round(statistics.median(r[key] for r in runs[name]), 2)

    def summary(name: str) -> dict:
        keys = ("wall_seconds", "pipeline_seconds", "kedro_cpu_seconds", "s3_server_cpu_seconds")
        return {**{f"median_{key}": median(name, key) for key in keys}, "runs": runs[name]}

    local, aws = summary("local"), summary("aws")
    result = {
        "what": "kedro run of the default pipeline on the bundled credit data: --env aws (moto S3 "
                "server over loopback HTTP) against the local environment (files under data/)",
        "params": options.params,
        "repeats": options.repeats,
        "local": local,
        "aws": aws,
        # CPU time is the steadier measure on a shared machine; wall time includes waiting.
        "ratio_aws_over_local_kedro_cpu": round(aws["median_kedro_cpu_seconds"] / local["median_kedro_cpu_seconds"], 3),
        "ratio_aws_over_local_cpu_including_s3_server": round(
            (aws["median_kedro_cpu_seconds"] + aws["median_s3_server_cpu_seconds"])
            / (local["median_kedro_cpu_seconds"] + local["median_s3_server_cpu_seconds"]), 3),
        "ratio_aws_over_local_wall": round(aws["median_wall_seconds"] / local["median_wall_seconds"], 3),
        "ratio_aws_over_local_pipeline": round(aws["median_pipeline_seconds"] / local["median_pipeline_seconds"], 3),
        "load_average_at_end": os.getloadavg(),
        "s3_objects_after_runs": len(objects),
        "s3_bytes_after_runs": sum(o["Size"] for o in objects),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k.startswith("ratio")}))


if __name__ == "__main__":
    main()
