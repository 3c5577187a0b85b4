"""Prediction server speed: this server with the compiled path, with scikit-learn, and `mlflow models serve`.

All three load the same MLflow model directory, run with the same number of worker processes
on loopback, and get the same request bytes (JSON, MLflow's ``dataframe_split`` wrapper, which
both accept). Per server and worker count: sequential single-row p50/p99, sequential 1,000-row
p50, and single-row throughput with 1, 4 and 16 concurrent keep-alive clients; the servers take
turns round after round (the machine is shared) and the median round counts. Floors are
measured in this process: the compiled path on parsed rows, and scikit-learn's ``predict_frame``
and ``model.predict``. Batch scoring rows/s, compiled against ``model.predict``, closes the run.
MLflow runs with OMP_NUM_THREADS=1 like this server's workers. Results, with the machine's load
and each target's verdict, go to benchmarks/results/serving.json.

    python benchmarks/serving_bench.py [--model-dir DIR] [--workers 1 2] [--seconds 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serving.json"
QUIET_ENV = {"DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
SERVERS = ("compiled", "scikit-learn", "mlflow")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not answer /ping in time")


def start(kind: str, model_dir: Path, workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    # `mlflow models serve` starts `uvicorn` from PATH: the one of this environment.
    env = {**os.environ, **QUIET_ENV, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if kind != "mlflow":
        command = [sys.executable, "-m", "ml_on_aws.container.serving", "--model-dir", str(model_dir),
                   "--port", str(port), "--workers", str(workers)]
        env["ML_ON_AWS_COMPILED"] = "1" if kind == "compiled" else "0"
    else:
        command = [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", str(model_dir),
                   "-p", str(port), "-h", "127.0.0.1", "-w", str(workers), "--env-manager", "local"]
        # MLflow 3.17 loads sklearn models only with this switch (our server checks skops types instead).
        env["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    wait_ready(port, process)
    return process, port


def server_cpu_seconds(process: subprocess.Popen) -> float:
    """User + system CPU of the server and all its worker processes so far."""
    import psutil

    root = psutil.Process(process.pid)
    total = 0.0
    for member in [root, *root.children(recursive=True)]:
        try:
            times = member.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def load(port: int, body: bytes, clients: int, seconds: float, minimum: int = 20) -> dict[str, float]:
    """``clients`` threads, each on its own keep-alive connection, send requests back to back for
    ``seconds`` (each at least ``minimum`` requests)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    for _ in range(3):  # warm-up: imports, first predictions, connection set-up
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        warm.request("POST", "/invocations", body=body, headers=headers)
        warm.getresponse().read()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        while len(mine) < minimum or time.perf_counter() < stop_at:
            started = time.perf_counter()
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors.append(f"{response.status}: {content[:200]!r}")
                break
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return summarize(latencies, elapsed)


def summarize(latencies: list[float], elapsed: float) -> dict[str, float]:
    ms = np.asarray(latencies) * 1000
    return {"requests": len(latencies), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3), "req_per_s": round(len(latencies) / elapsed, 1)}


def timed(function, seconds: float, minimum: int = 20) -> dict[str, float]:
    function()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < minimum or time.perf_counter() - started < seconds:
        t = time.perf_counter()
        function()
        times.append(time.perf_counter() - t)
    return summarize(times, time.perf_counter() - started)


def in_process_floors(model_dir: Path, frames: dict[str, pd.DataFrame], seconds: float) -> dict[str, dict[str, float]]:
    """One thread, no HTTP, no parsing: the compiled path on typed rows, scikit-learn on a frame."""
    from threadpoolctl import threadpool_limits

    from ml_on_aws.container.serving.model import load_served_model
    from ml_on_aws.core.predictions import predict_frame
    from ml_on_aws.pipelines.feature_engineering.compiled import typed_columns

    served = load_served_model(model_dir)
    out = {}
    with threadpool_limits(limits=1):
        for name, frame in frames.items():
            if served.compiled is not None:
                typed = typed_columns(served.compiled, frame)
                out[f"compiled predict, {name}"] = timed(lambda t=typed: served.compiled.predict_typed(t), seconds)
            out[f"scikit-learn predict_frame, {name}"] = timed(lambda f=frame: predict_frame(served.model, f), seconds)
            out[f"scikit-learn model.predict, {name}"] = timed(lambda f=frame: served.model.predict(f), seconds)
    return out


def batch_scoring(model_dir: Path, rows: pd.DataFrame, count: int, chunk_rows: int) -> dict[str, float]:
    """Rows per second of batch scoring (chunks as the inference pipeline scores them), compiled
    path against ``model.predict``, one thread each, on ``count`` rows resampled from ``rows``."""
    from threadpoolctl import threadpool_limits

    from ml_on_aws.container.serving import load_model
    from ml_on_aws.core.predictions import predict_in_chunks
    from ml_on_aws.pipelines.feature_engineering.compiled import batch_predictor

    model = load_model(model_dir)
    table = rows.sample(count, replace=True, random_state=0).reset_index(drop=True)
    out = {"rows": count}
    with threadpool_limits(limits=1):
        predict = batch_predictor(model, table.head(2000))
        for name, score in (("model.predict", lambda: [model.predict(table.iloc[s:s + chunk_rows])
                                                        for s in range(0, count, chunk_rows)]),
                            ("compiled", lambda: predict_in_chunks(model, table, chunk_rows, predict))):
            started = time.perf_counter()
            score()
            out[f"{name}_rows_per_s"] = round(count / (time.perf_counter() - started))
            print("batch", name, out[f"{name}_rows_per_s"], "rows/s", flush=True)
    out["ratio"] = round(out["compiled_rows_per_s"] / out["model.predict_rows_per_s"], 2)
    return out


def request_body(frame: pd.DataFrame) -> bytes:
    split = json.loads(frame.to_json(orient="split", index=False))
    return json.dumps({"dataframe_split": split}).encode()


def measure_server(port: int, bodies: dict[str, bytes], seconds: float) -> dict[str, dict[str, float]]:
    cells = {"sequential, 1 row": (bodies["1 row"], 1), "sequential, 1000 rows": (bodies["1000 rows"], 1),
             "4 clients, 1 row": (bodies["1 row"], 4), "16 clients, 1 row": (bodies["1 row"], 16)}
    return {cell: load(port, body, clients, seconds) for cell, (body, clients) in cells.items()}


def targets(median: dict, batch: dict) -> list[dict[str, object]]:
    """Each target of the compiled path against MLflow's server, measured in this run."""
    def value(server: str, cell: str, key: str, n: int = 1) -> float:
        return median[(server, n, cell)][key]

    rows = [
        ("sequential single-row p50 <= 0.15x MLflow", value("compiled", "sequential, 1 row", "p50_ms") / value("mlflow", "sequential, 1 row", "p50_ms"), 0.15, "<="),
        ("sequential single-row p99 <= 0.3x MLflow", value("compiled", "sequential, 1 row", "p99_ms") / value("mlflow", "sequential, 1 row", "p99_ms"), 0.3, "<="),
        ("sequential 1,000-row p50 <= 0.5x MLflow", value("compiled", "sequential, 1000 rows", "p50_ms") / value("mlflow", "sequential, 1000 rows", "p50_ms"), 0.5, "<="),
        ("16 clients, 1 worker: throughput >= 5x MLflow", value("compiled", "16 clients, 1 row", "req_per_s") / value("mlflow", "16 clients, 1 row", "req_per_s"), 5.0, ">="),
        ("batch scoring >= 2x model.predict rows/s", batch["ratio"], 2.0, ">="),
    ]
    return [{"target": name, "measured_ratio": round(ratio, 3), "met": bool(ratio <= bound if op == "<=" else ratio >= bound)}
            for name, ratio, bound, op in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=ROOT / "data" / "06_models" / "mlflow_model")
    parser.add_argument("--rows", type=Path, default=ROOT / "data" / "01_raw" / "credit_data_new.csv")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare at")
    parser.add_argument("--seconds", type=float, default=2.0, help="per measured cell")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not (args.model_dir / "MLmodel").is_file():
        raise SystemExit(f"No MLflow model at {args.model_dir}: run `kedro run` (or `make run`) first.")
    os.environ.update(QUIET_ENV)
    rows = pd.read_csv(args.rows)
    rows = rows.astype({c: "float64" for c in rows.select_dtypes("integer").columns})  # MLflow's schema: doubles
    big = pd.concat([rows] * (1000 // len(rows) + 1), ignore_index=True).head(1000)
    frames = {"1 row": rows.head(1), "1000 rows": big}
    bodies = {name: request_body(frame) for name, frame in frames.items()}
    logs = ROOT / "benchmarks" / "data"
    logs.mkdir(parents=True, exist_ok=True)
    load_at_start = [round(x, 2) for x in os.getloadavg()]

    rounds: dict[tuple[str, int, str], list[dict[str, float]]] = {}
    floor_rounds: dict[str, list[dict[str, float]]] = {}
    for round_number in range(args.rounds):
        for name, measured in in_process_floors(args.model_dir, frames, args.seconds / 2).items():
            floor_rounds.setdefault(name, []).append(measured)
        order = SERVERS[round_number % len(SERVERS):] + SERVERS[: round_number % len(SERVERS)]
        for workers in args.workers:
            for kind in order:
                process, port = start(kind, args.model_dir, workers, logs / f"serving_{kind}.log")
                try:
                    cpu_before = server_cpu_seconds(process)
                    for cell, measured in measure_server(port, bodies, args.seconds).items():
                        rounds.setdefault((kind, workers, cell), []).append(measured)
                        print(round_number, kind, workers, cell, measured, flush=True)
                    cpu = server_cpu_seconds(process) - cpu_before
                    print(round_number, kind, workers, f"server CPU {cpu:.1f} s", flush=True)
                finally:
                    stop(process)
    batch = batch_scoring(args.model_dir, rows, args.batch_rows, args.chunk_rows)

    def median(measured: list[dict[str, float]]) -> dict[str, float]:
        return {key: float(np.median([m[key] for m in measured])) for key in ("p50_ms", "p99_ms", "req_per_s")}

    medians = {key: median(measured) for key, measured in rounds.items()}
    results = [{"server": server, "workers": workers, "cell": cell, **medians[(server, workers, cell)],
                "rounds": rounds[(server, workers, cell)]} for (server, workers, cell) in rounds]
    ratios = {
        f"{workers} worker(s), {cell}": {
            f"compiled_vs_{other}": {
                "p50_ratio": round(medians[("compiled", workers, cell)]["p50_ms"] / medians[(other, workers, cell)]["p50_ms"], 3),
                "p99_ratio": round(medians[("compiled", workers, cell)]["p99_ms"] / medians[(other, workers, cell)]["p99_ms"], 3),
                "throughput_ratio": round(medians[("compiled", workers, cell)]["req_per_s"] / medians[(other, workers, cell)]["req_per_s"], 2),
            }
            for other in ("mlflow", "scikit-learn")
        }
        for workers in args.workers for cell in ("sequential, 1 row", "sequential, 1000 rows", "4 clients, 1 row", "16 clients, 1 row")
    }
    report = {
        "what": "POST /invocations on loopback, JSON dataframe_split bodies, keep-alive clients; "
                "compiled = this server with the compiled prediction path, scikit-learn = this server with "
                "ML_ON_AWS_COMPILED=0, mlflow = `mlflow models serve` with OMP_NUM_THREADS=1",
        "model_dir": str(args.model_dir.relative_to(ROOT) if args.model_dir.is_relative_to(ROOT) else args.model_dir),
        "worker_counts": args.workers,
        "rounds": args.rounds,
        "seconds_per_cell": args.seconds,
        "statistic": "median over rounds of each round's p50, p99 and requests per second",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": load_at_start,
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                    "note": "2 cores shared with other work during the run: compare ratios within this run"},
        "versions": {name: __import__(name).__version__ for name in ("mlflow", "sklearn", "pandas", "uvicorn", "starlette")},
        "targets": targets(medians, batch),
        "in_process_floors": {name: median(measured) for name, measured in floor_rounds.items()},
        "batch_scoring": batch,
        "ratios": ratios,
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"targets": report["targets"], "floors": report["in_process_floors"]}, indent=2))
    print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
