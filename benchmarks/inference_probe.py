"""Batch inference throughput: the project's inference node against raw ``model.predict``.

    python benchmarks/inference_probe.py MODEL.pkl NEW_DATA.csv PROJECT_DIR

Reads the frame once, then times (median of three, I/O excluded) the node function
``score_new_data`` with the project's ``inference`` parameters, ``model.predict`` alone, and
``model.predict`` plus ``model.predict_proba`` (the same output as the node, done by hand).
Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import joblib
import pandas as pd
import yaml

from ml_on_aws.pipelines.inference.nodes import score_new_data

REPEATS = 3


def timed(function) -> float:
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main(model_path: str, data_path: str, project: str) -> None:
    model = joblib.load(model_path)
    frame = pd.read_csv(data_path)
    params = yaml.safe_load((Path(project) / "conf/base/parameters.yml").read_text())["inference"]
    node = timed(lambda: score_new_data(model, frame, params))
    predict = timed(lambda: model.predict(frame))
    both = timed(lambda: (model.predict(frame), model.predict_proba(frame)))
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
