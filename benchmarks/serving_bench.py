"""Prediction server speed: this project's server against `mlflow models serve`, same model.

Both servers load the same MLflow model directory (default: the one `kedro run` writes), run
with the same number of worker processes on loopback, and get the same request bytes (JSON,
MLflow's ``dataframe_split`` wrapper, which both accept). Concurrent clients send single-row
and 1,000-row requests; p50/p99 latency and requests per second are written to
benchmarks/results/serving.json with the ratios to MLflow. The floor is ``model.predict`` in
this process (plain pandas + scikit-learn, no HTTP). Each server's CPU time per request is
recorded too: on a shared machine it varies far less than the timings.

MLflow is measured twice: as shipped, and with OMP_NUM_THREADS=1 like this server's workers,
so the ratio shows what the server design gains beyond the thread setting.

    python benchmarks/serving_bench.py [--model-dir DIR] [--workers 1 2] [--clients 4] [--rounds 3]
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
FLOOR = "in-process model.predict (floor)"
QUIET_ENV = {"DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}


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
    if kind == "ml_on_aws":
        command = [sys.executable, "-m", "ml_on_aws.container.serving", "--model-dir", str(model_dir),
                   "--port", str(port), "--workers", str(workers)]
    else:
        command = [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", str(model_dir),
                   "-p", str(port), "-h", "127.0.0.1", "-w", str(workers), "--env-manager", "local"]
        # MLflow 3.17 loads sklearn models only with this switch (our server checks skops types instead).
        env["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
        if kind == "mlflow_1_thread":
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


def load(port: int, body: bytes, clients: int, requests_per_client: int) -> dict[str, float]:
    """``clients`` threads, each on its own keep-alive connection, send requests back to back."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        for _ in range(requests_per_client):
            started = time.perf_counter()
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors.append(f"{response.status}: {content[:200]!r}")
        with lock:
            latencies.extend(mine)

    for _ in range(3):  # warm-up: imports, first predictions, connection set-up
        client_connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        client_connection.request("POST", "/invocations", body=body, headers=headers)
        client_connection.getresponse().read()
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
    return {"requests": len(latencies), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "req_per_s": round(len(latencies) / elapsed, 1)}


def in_process_floor(model_dir: Path, frame: pd.DataFrame, repeats: int) -> dict[str, float]:
    """``model.predict`` on an already-parsed frame, one thread: no HTTP, no parsing."""
    from threadpoolctl import threadpool_limits

    from ml_on_aws.container.serving import load_model

    model = load_model(model_dir)
    with threadpool_limits(limits=1):
        model.predict(frame)
        times = []
        started = time.perf_counter()
        for _ in range(repeats):
            t = time.perf_counter()
            model.predict(frame)
            times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
    return summarize(times, elapsed)


def payloads(rows: pd.DataFrame) -> dict[str, tuple[bytes, pd.DataFrame]]:
    big = pd.concat([rows] * (1000 // len(rows) + 1), ignore_index=True).head(1000)
    out = {}
    for name, frame in (("1 row", rows.head(1)), ("1000 rows", big)):
        split = json.loads(frame.to_json(orient="split", index=False))
        out[name] = (json.dumps({"dataframe_split": split}).encode(), frame)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=ROOT / "data" / "06_models" / "mlflow_model")
    parser.add_argument("--rows", type=Path, default=ROOT / "data" / "01_raw" / "credit_data_new.csv")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare at")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--single-row-requests", type=int, default=60, help="per client")
    parser.add_argument("--batch-requests", type=int, default=10, help="per client")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not (args.model_dir / "MLmodel").is_file():
        raise SystemExit(f"No MLflow model at {args.model_dir}: run `kedro run` (or `make run`) first.")
    os.environ.update(QUIET_ENV)
    rows = pd.read_csv(args.rows)
    cases = payloads(rows)
    per_client = {"1 row": args.single_row_requests, "1000 rows": args.batch_requests}
    logs = ROOT / "benchmarks" / "data"
    logs.mkdir(parents=True, exist_ok=True)

    # The machine is shared: servers take turns, round after round, and the median round counts.
    rounds: dict[tuple[str, int, str], list[dict[str, float]]] = {}
    servers = ["ml_on_aws", "mlflow", "mlflow_1_thread"]
    for round_number in range(args.rounds):
        for name, (_, frame) in cases.items():
            rounds.setdefault((FLOOR, 0, name), []).append(in_process_floor(args.model_dir, frame, per_client[name] * 2))
        order = servers[round_number % len(servers):] + servers[: round_number % len(servers)]
        for workers in args.workers:
            for kind in order:
                process, port = start(kind, args.model_dir, workers, logs / f"serving_{kind}.log")
                try:
                    for name, (body, _) in cases.items():
                        cpu_before = server_cpu_seconds(process)
                        measured = load(port, body, args.clients, per_client[name])
                        # CPU the server spent per request: steadier than timings on a shared machine.
                        cpu = server_cpu_seconds(process) - cpu_before
                        measured["cpu_ms_per_request"] = round(cpu * 1000 / measured["requests"], 2)
                        rounds.setdefault((kind, workers, name), []).append(measured)
                        print(round_number, kind, workers, name, measured, flush=True)
                finally:
                    stop(process)

    results = [
        {"server": server, "workers": workers, "payload": name, "clients": 1 if server == FLOOR else args.clients,
         **{key: float(np.median([r[key] for r in measured])) for key in ("p50_ms", "p99_ms", "req_per_s", "cpu_ms_per_request")
            if key in measured[0]},
         "requests_per_round": measured[0]["requests"], "rounds": measured}
        for (server, workers, name), measured in rounds.items()
    ]

    def pick(server: str, workers: int, payload: str) -> dict[str, float]:
        return next(r for r in results if (r["server"], r["workers"], r["payload"]) == (server, workers, payload))

    ratios = {
        f"{workers} worker(s), {name}": {
            f"vs_{other}": {
                "throughput_ratio": round(pick("ml_on_aws", workers, name)["req_per_s"] / pick(other, workers, name)["req_per_s"], 2),
                "p99_ratio": round(pick("ml_on_aws", workers, name)["p99_ms"] / pick(other, workers, name)["p99_ms"], 3),
                "p50_ratio": round(pick("ml_on_aws", workers, name)["p50_ms"] / pick(other, workers, name)["p50_ms"], 3),
                "cpu_per_request_ratio": round(pick("ml_on_aws", workers, name)["cpu_ms_per_request"]
                                               / pick(other, workers, name)["cpu_ms_per_request"], 3),
            }
            for other in ("mlflow", "mlflow_1_thread")
        }
        for workers in args.workers for name in cases
    }
    report = {
        "what": "POST /invocations on loopback, JSON dataframe_split bodies, concurrent keep-alive clients",
        "reading": "throughput_ratio > 1, p99_ratio < 1 and cpu_per_request_ratio < 1 mean ml_on_aws is ahead of "
                   "MLflow's server; cpu_ms_per_request (CPU of the server processes) is the least noisy figure on a "
                   "shared machine, see machine.load_average_at_end",
        "model_dir": str(args.model_dir.relative_to(ROOT) if args.model_dir.is_relative_to(ROOT) else args.model_dir),
        "worker_counts": args.workers,
        "rounds": args.rounds,
        "statistic": "median over rounds of each round's p50, p99 and requests per second",
        "clients": args.clients,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "versions": {name: __import__(name).__version__ for name in ("mlflow", "sklearn", "pandas", "uvicorn", "starlette")},
        "results": results,
        "ratios": ratios,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(ratios, indent=2))
    print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
