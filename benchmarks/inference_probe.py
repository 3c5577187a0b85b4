"""Batch inference throughput: the project's inference node against raw ``model.predict``.

    python benchmarks/inference_probe.py MODEL_DIR NEW_DATA.csv PROJECT_DIR

MODEL_DIR is an MLflow model folder the training run saved (data/06_models/model/<version>/model).

Reads the frame once, then times (I/O excluded) the node function ``score_new_data`` with the
project's ``inference`` parameters, ``model.predict`` alone, and ``model.predict`` plus
``model.predict_proba`` (the same output as the node, done by hand). The three take turns,
round after round, so a change in the machine's load hits all of them; medians are reported.
Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from ml_on_aws.core.mlflow_models import load_sklearn_model
from ml_on_aws.pipelines.inference.nodes import score_new_data

REPEATS = 7


def timed_in_turns(functions: dict[str, Callable[[], object]]) -> dict[str, float]:
    runs: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(REPEATS):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            runs[name].append(time.perf_counter() - started)
    return {name: statistics.median(times) for name, times in runs.items()}


def main(model_path: str, data_path: str, project: str) -> None:
    model = load_sklearn_model(model_path)
    frame = pd.read_csv(data_path)
    params = yaml.safe_load((Path(project) / "conf/base/parameters.yml").read_text())["inference"]
    times = timed_in_turns({
        "node": lambda: score_new_data(model, frame, params),
        "predict": lambda: model.predict(frame),
        "both": lambda: (model.predict(frame), model.predict_proba(frame)),
    })
    node, predict, both = times["node"], times["predict"], times["both"]
    rows = len(frame)
    print(json.dumps({
        "ok": True,
        "rows": rows,
        "repeats": REPEATS,
        "node_rows_per_s": rows / node,
        "predict_rows_per_s": rows / predict,
        "predict_and_proba_rows_per_s": rows / both,
        "ratio_vs_predict": round(predict / node, 3),
        "ratio_vs_predict_and_proba": round(both / node, 3),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
