"""Write a data capture sample as a SageMaker endpoint would: requests to the project's own
prediction server (in-process, the model `make run` trained) and its answers, as JSON Lines under
``<folder>/<endpoint>/<variant>/yyyy/mm/dd/hh/``, with the ground-truth labels of the requests.

    .venv/bin/python scripts/make_capture_sample.py      # after `make run`; rewrites data/01_raw/captured/

The requests are rows of the model's test set (data/05_model_input/test_set.parquet), so the
sample shows live traffic without drift, and their labels are the true outcome. They come in
every format the server reads: CSV with and without a header, JSON records and split, and one
JSON Lines request, which SageMaker captures as BASE64 (its content type is not among the
default CSV and JSON capture types); the last line is cut short, as a line that is not a capture
record. Times are fixed and ids derived from positions, so the same model writes the same files.
The tests import the functions here to capture traffic of their own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import yaml

from ml_on_aws.core.data_capture import capture_record

ROOT = Path(__file__).resolve().parents[1]
CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"
# The sample's traffic: from 08:00 UTC on this day, one request every SPACING.
SAMPLE_START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SPACING = timedelta(seconds=61)
# The `--params` that put the sample into a monitoring run's window.
SAMPLE_WINDOW_END = "2026-11-03T00:00:00Z"
_IDS = uuid.UUID("5a3f3b2e-6d0c-4d43-9a55-0c1f6f0d2b10")


@dataclass(frozen=True)
class Exchange:
    """One request to the server: its body, content type, Accept header and InferenceId."""

    body: bytes
    content_type: str
    accept: str | None = None
    inference_id: str | None = None


def csv_request(rows: pd.DataFrame, header: bool = True, accept: str | None = None,
                inference_id: str | None = None) -> Exchange:
    return Exchange(rows.to_csv(index=False, header=header).encode(), CSV, accept, inference_id)


def json_request(rows: pd.DataFrame, orient: str = "records", accept: str | None = None,
                 inference_id: str | None = None) -> Exchange:
    if orient == "split":
        body = json.dumps({"columns": list(rows.columns), "data": json.loads(rows.to_json(orient="values"))})
    elif orient == "lines":
        return Exchange(rows.to_json(orient="records", lines=True).encode(), JSONLINES, accept, inference_id)
    else:
        body = rows.to_json(orient="records")
    return Exchange(body.encode(), JSON, accept, inference_id)


def mixed_requests(rows: pd.DataFrame, id_prefix: str = "req") -> list[Exchange]:
    """Requests for ``rows`` in every format the server reads. Single-row requests carry an
    InferenceId ``<id_prefix>-<position>``; requests of several rows carry none."""
    exchanges: list[Exchange] = []
    position = 0

    def take(count: int) -> tuple[pd.DataFrame, str]:
        nonlocal position
        chosen, name = rows.iloc[position:position + count], f"{id_prefix}-{position:04d}"
        position += count
        return chosen, name

    kinds = [
        lambda r, i: csv_request(r, header=True, accept=CSV, inference_id=i),
        lambda r, i: csv_request(r, header=False, inference_id=i),
        lambda r, i: json_request(r, "records", inference_id=i),
        lambda r, i: csv_request(r, header=True, accept=JSON, inference_id=i),
    ]
    singles = max(len(rows) - 30, 0)
    for number in range(singles):
        chosen, name = take(1)
        exchanges.append(kinds[number % len(kinds)](chosen, name))
    while position < len(rows) - 5:
        chosen, _ = take(4)
        exchanges.append(json_request(chosen, "split", accept=CSV))
    chosen, _ = take(len(rows) - position)
    if len(chosen):
        exchanges.append(json_request(chosen, "lines", accept=JSONLINES))
    return exchanges


def capture(client, exchanges: Iterable[Exchange], start: datetime = SAMPLE_START, spacing: timedelta = SPACING,
            endpoint: str = "ml-on-aws", variant: str = "AllTraffic", base64_only: bool = False) -> dict[str, list[str]]:
    """Send each request to ``client`` (a Starlette TestClient of the server) and record it as
    SageMaker does: {capture file path below the destination: its lines}, one file per hour."""
    files: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for number, exchange in enumerate(exchanges):
        moment = start + number * spacing
        headers = {"Content-Type": exchange.content_type, **({"Accept": exchange.accept} if exchange.accept else {})}
        answer = client.post("/invocations", content=exchange.body, headers=headers)
        record = capture_record(
            request=exchange.body, request_content_type=exchange.content_type,
            response=answer.content, response_content_type=answer.headers["content-type"],
            inference_time=moment, event_id=str(uuid.uuid5(_IDS, f"{start.isoformat()}/{number}")),
            inference_id=exchange.inference_id, base64_only=base64_only,
        )
        folder = f"{endpoint}/{variant}/{moment:%Y/%m/%d/%H}"
        if folder not in names:  # SageMaker names a file after the time it starts and a random id
            names[folder] = f"{folder}/{moment:%M-%S}-000-{uuid.uuid5(_IDS, folder)}.jsonl"
        files.setdefault(names[folder], []).append(json.dumps(record, separators=(",", ":")))
    return files


def write_capture_files(files: dict[str, list[str]], destination: Path) -> list[Path]:
    written = []
    for relative, lines in files.items():
        path = destination / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines))
        written.append(path)
    return written


def labels_of(rows: pd.DataFrame, target: str, id_prefix: str = "req") -> pd.DataFrame:
    """The ground truth of the single-row requests of :func:`mixed_requests`, by InferenceId."""
    singles = max(len(rows) - 30, 0)
    return pd.DataFrame({"inference_id": [f"{id_prefix}-{n:04d}" for n in range(singles)],
                         target: rows[target].iloc[:singles].to_numpy()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=ROOT / "data/06_models/mlflow_model")
    parser.add_argument("--test-set", type=Path, default=ROOT / "data/05_model_input/test_set.parquet")
    parser.add_argument("--rows", type=int, default=150, help="test rows sent (default 150)")
    parser.add_argument("--out", type=Path, default=ROOT / "data/01_raw/captured")
    parser.add_argument("--labels", type=Path, default=ROOT / "data/01_raw/ground_truth_labels.csv")
    args = parser.parse_args(argv)
    if not (args.model_dir / "MLmodel").is_file() and not args.model_dir.is_symlink():
        parser.error(f"no model at {args.model_dir}: run `make run` first")
    import logging

    from starlette.testclient import TestClient

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise

    from ml_on_aws.container.serving.app import create_app
    from ml_on_aws.container.serving.settings import ServerSettings

    target = yaml.safe_load((ROOT / "conf/base/parameters.yml").read_text())["data"]["target"]
    rows = pd.read_parquet(args.test_set).head(args.rows)
    with TestClient(create_app(ServerSettings(model_dir=str(args.model_dir)))) as client:
        files = capture(client, mixed_requests(rows.drop(columns=[target]), id_prefix="sample"))
    # The last line is cut short, as when a file is read while it is written: not a capture record.
    last = sorted(files)[-1]
    files[last].append(files[last][-1][: len(files[last][-1]) // 2])
    shutil.rmtree(args.out, ignore_errors=True)
    written = write_capture_files(files, args.out)
    labels_of(rows, target, id_prefix="sample").to_csv(args.labels, index=False)
    lines = sum(len(lines) for lines in files.values())
    print(f"Wrote {lines} capture lines in {len(written)} files under {args.out} and the labels in {args.labels}.")
    print(f"Read them: kedro run --pipelines monitoring (the window ends at the newest record, {SAMPLE_WINDOW_END} at the latest)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
