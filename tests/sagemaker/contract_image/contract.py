"""SageMaker's container contract in a few lines: train, process (count rows), serve."""

import http.server
import json
import os
import sys
from pathlib import Path

ML = Path("/opt/ml")


def fail(reason_file: Path, reason: str) -> None:
    reason_file.parent.mkdir(parents=True, exist_ok=True)
    reason_file.write_text(reason)
    print(reason, flush=True)
    sys.exit(2)


def train() -> None:
    config = ML / "input" / "config"
    hyperparameters = json.loads((config / "hyperparameters.json").read_text())
    resources = json.loads((config / "resourceconfig.json").read_text())
    files = sorted(p for p in (ML / "input" / "data" / "train").rglob("*") if p.is_file())
    if hyperparameters.get("fail") == "true":
        fail(ML / "output" / "failure", "The train channel has no target column")
    rows = sum(len(p.read_text().splitlines()) - 1 for p in files)
    (ML / "model" / "model.json").write_text(json.dumps({"rows": rows, "hyperparameters": hyperparameters,
                                                        "host": resources["current_host"]}))
    (ML / "output" / "data" / f"report-{resources['current_host']}.json").write_text(json.dumps({"rows": rows}))
    print(f"train_rows={rows}", flush=True)
    print("test_roc_auc=0.75", flush=True)


def process(pipeline: str) -> None:
    host = json.loads((ML / "config" / "resourceconfig.json").read_text())["current_host"]
    if pipeline == "broken":
        fail(ML / "output" / "message", f"pipeline {pipeline} failed on {host}")
    model = Path("/opt/ml/processing/input/model")
    assert any(model.iterdir()), "no model"
    out = Path("/opt/ml/processing/output/predictions")
    for path in sorted(Path("/opt/ml/processing/input/new_data").glob("*.csv")):
        lines = path.read_text().splitlines()
        scored = [lines[0] + ",prediction"] + [line + ",1" for line in lines[1:]]
        (out / f"{host}-{path.name}").write_text("\n".join(scored) + "\n")
    print(f"{pipeline} done on {host}", flush=True)


class Server(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ping" and (ML / "model" / "model.json").exists() else 404)
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        answer = "\n".join(str(len(line.split(","))) for line in body.splitlines()).encode()
        self.send_response(200 if self.path == "/invocations" else 404)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "train":
        train()
    elif command == "process":
        process(*arguments)
    elif command == "serve":
        port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
        http.server.ThreadingHTTPServer(("0.0.0.0", port), Server).serve_forever()
