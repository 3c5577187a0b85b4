"""The monitoring pipeline in-process on capture files written from the project's own server.

A small credit model is trained and served in-process (Starlette's TestClient); requests in every
format the server reads go to it, and each request and answer is written as SageMaker's data
capture writes it (scripts/make_capture_sample.py). The registered ``monitoring`` pipeline then
runs on those files with Kedro's SequentialRunner.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from starlette.testclient import TestClient

from ml_on_aws.container.serving.app import create_app
from ml_on_aws.container.serving.settings import ServerSettings
from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.core.predictions import input_columns, predict_frame
from ml_on_aws.datasets import CaptureFilesDataset, MlflowModelDirectoryDataset
from ml_on_aws.pipeline_registry import register_pipelines
from ml_on_aws.pipelines.evaluation.metrics import task_scores
from ml_on_aws.pipelines.evaluation.nodes import predict_test_set
from ml_on_aws.pipelines.monitoring.nodes import compare_predictions, score_live_traffic
from ml_on_aws.pipelines.training.nodes import select_reference_data
from tests.model_factory import package_small, train_small

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
import make_capture_sample as sample  # noqa: E402

WINDOW_END = (sample.SAMPLE_START + timedelta(days=1)).isoformat()


class KeptDataset(MemoryDataset):
    """A memory dataset the runner does not empty: every intermediate result stays readable."""

    def _release(self) -> None:
        pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model, params, train, test = train_small()
    package, _ = package_small(model, params, train, test)
    model_dir = tmp_path_factory.mktemp("model") / "mlflow_model"
    MlflowModelDirectoryDataset(filepath=str(model_dir)).save(package)
    return {"model": model, "params": params, "train": train, "test": test, "model_dir": model_dir,
            "reference_data": select_reference_data(train, params["drift"]),
            "test_predictions": predict_test_set(model, test, params["data"])}


@pytest.fixture(scope="module")
def client(trained):
    with TestClient(create_app(ServerSettings(model_dir=str(trained["model_dir"])))) as running:
        yield running


def captured(client, folder: Path, exchanges, **options) -> Path:
    sample.write_capture_files(sample.capture(client, exchanges, **options), folder)
    return folder


def monitor(trained, folder: Path, labels: pd.DataFrame | None = None, window_end: str | None = WINDOW_END,
            lineage: dict | None = None, **monitoring) -> dict:
    """The registered pipeline on the capture files in ``folder`` (``lineage``: the model's lineage
    record, None when it has none); every dataset it wrote."""
    pipeline = register_pipelines()["monitoring"]
    params = {**trained["params"], "monitoring": {"window": {"end": window_end, "hours": 24}, **monitoring}}
    given = {"captured_data": CaptureFilesDataset(str(folder)),
             "ground_truth_labels": KeptDataset(data=pd.DataFrame() if labels is None else labels),
             "model_lineage": KeptDataset(data=lineage, copy_mode="assign"),
             "model_reference_data": KeptDataset(data=trained["reference_data"], copy_mode="assign"),
             **{name: KeptDataset(data=trained[name], copy_mode="assign") for name in ("model", "test_predictions")}}
    parameters = {f"params:{key}": MemoryDataset(data=value, copy_mode="assign") for key, value in params.items()}
    kept = {name: KeptDataset(copy_mode="assign") for name in pipeline.datasets() - given.keys() - parameters.keys()}
    catalog = DataCatalog(datasets={**given, **parameters, **kept})
    SequentialRunner().run(pipeline, catalog)
    return {name: catalog.load(name) for name in kept}


def rows_of(trained, count: int) -> pd.DataFrame:
    target = trained["params"]["data"]["target"]
    return trained["test"].drop(columns=[target]).head(count).reset_index(drop=True)


def cut_line(folder: Path) -> None:
    """A last line cut short, as when a file is read while SageMaker writes it."""
    last = sorted(folder.rglob("*.jsonl"))[-1]
    lines = last.read_text().splitlines()
    last.write_text("\n".join([*lines, lines[-1][:120]]) + "\n")


def test_traffic_drawn_from_the_test_set_does_not_drift_and_is_rebuilt_row_for_row(trained, client, tmp_path):
    rows = rows_of(trained, 200)
    exchanges = sample.mixed_requests(rows)
    folder = captured(client, tmp_path / "captured", exchanges)
    cut_line(folder)
    # Every format the server reads is in the capture: CSV with and without a header, JSON
    # records and split, and the JSON Lines request SageMaker captures as BASE64.
    lines = [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()[:-1]]
    inputs = [(r["captureData"]["endpointInput"]["observedContentType"], r["captureData"]["endpointInput"]["encoding"])
              for r in lines]
    assert {("text/csv", "CSV"), ("application/json", "JSON"), ("application/jsonlines", "BASE64")} <= set(inputs)

    outputs = monitor(trained, folder)

    report = outputs["monitoring_report"]
    assert report["retrain"] == 0 and report["drifted_columns"] == [] and report["verdict"] == "no drift"
    assert report["checked_columns"] == len(input_columns(trained["model"]))
    assert (report["records"], report["rows"]) == (len(exchanges), len(rows))
    assert report["unparsed_records"] == 1 and report["capture"]["problems"] == {"not a capture record": 1}
    assert report["unparsed_responses"] == 0
    assert report["prediction_drifted"] is False and report["prediction_shift"] < 0.1
    # The rows are the requests' rows, in order, whatever their format; the predictions are the server's.
    required = input_columns(trained["model"])
    pd.testing.assert_frame_equal(outputs["live_features"], rows[required], check_dtype=False)
    expected = predict_frame(trained["model"], rows)
    assert outputs["live_predictions"]["prediction"].tolist() == expected["prediction"].tolist()
    assert outputs["live_predictions"]["proba_good"].astype(float).to_numpy() == pytest.approx(expected["proba_good"].to_numpy())
    assert "<h1>Live traffic: no drift</h1>" in outputs["monitoring_summary"]
    assert outputs["monitoring_summary"].count("<img ") == 1 + len(required)


def test_live_quality_from_labels_joined_by_inference_id(trained, client, tmp_path):
    target = trained["params"]["data"]["target"]
    labelled = trained["test"].head(120).reset_index(drop=True)
    folder = captured(client, tmp_path / "captured", sample.mixed_requests(labelled.drop(columns=[target])))
    labels = sample.labels_of(labelled, target)  # the single-row requests, by InferenceId
    labels = pd.concat([labels, pd.DataFrame({"inference_id": ["never-sent"], target: ["good"]})])

    report = monitor(trained, folder, labels=labels, model_version="ml_on_aws_credit_data/7")["monitoring_report"]

    singles = labelled.head(len(labels) - 1)
    expected = task_scores(trained["model"], singles.drop(columns=[target]), singles[target], _data(trained), 1000)
    assert report["labelled_rows"] == len(singles) and report["quality"]["unmatched_labels"] == 1
    assert report["live_metrics"].keys() == expected.keys() >= {"roc_auc", "accuracy", "f1"}
    assert report["live_metrics"] == pytest.approx(expected)
    assert report["model_version"] == "ml_on_aws_credit_data/7"


def test_shifted_traffic_drifts(trained, client, tmp_path):
    rows = rows_of(trained, 300).assign(Income=lambda table: table["Income"] * 2.5)
    rows.loc[rows.index[::4], "Job"] = "gig economy"
    folder = captured(client, tmp_path / "captured", sample.mixed_requests(rows))

    outputs = monitor(trained, folder)

    report = outputs["monitoring_report"]
    assert report["retrain"] == 1 and report["verdict"] == "drift"
    assert {"Income", "Job"} <= set(report["drifted_columns"])
    assert report["drift_share"] == len(report["drifted_columns"]) / report["checked_columns"]
    assert report["drift"]["columns"]["Job"]["new_categories"] == ["gig economy"]
    assert "Retrain signal: <b>1</b>" in outputs["monitoring_summary"]


def test_base64_unreadable_and_refused_records_are_counted_never_fatal(trained, client, tmp_path):
    rows = rows_of(trained, 3)
    exchanges = [
        sample.csv_request(rows.head(2)),                                           # BASE64 below, read
        sample.Exchange(b"1,2,3\n", sample.CSV),                                     # refused: 3 fields
        sample.Exchange(b"<rows/>", "application/xml"),                              # a type the server does not read
    ]
    folder = captured(client, tmp_path / "captured", exchanges, base64_only=True)
    cut_line(folder)

    report = monitor(trained, folder)["monitoring_report"]

    assert (report["records"], report["rows"], report["unparsed_records"]) == (1, 2, 3)
    assert report["capture"]["problems"] == {"refused by the endpoint": 1, "content type the server does not read": 1,
                                             "not a capture record": 1}
    refused = next(e for e in report["capture"]["examples"] if e["kind"] == "refused by the endpoint")
    assert "CSV without a header must have" in refused["reason"] and refused["line"] == 2


def test_traffic_outside_the_window_is_not_read(trained, client, tmp_path):
    folder = captured(client, tmp_path / "captured", sample.mixed_requests(rows_of(trained, 40)))
    earlier = (sample.SAMPLE_START - timedelta(days=3)).isoformat()

    outputs = monitor(trained, folder, window_end=earlier)

    report = outputs["monitoring_report"]
    assert (report["verdict"], report["records"], report["retrain"], report["checked_columns"]) == ("no traffic", 0, 0, 0)
    assert report["window"]["lines_in_window"] == 0 and report["prediction_shift"] is None
    assert "No traffic in the window" in outputs["monitoring_summary"]


def test_a_null_window_end_is_the_newest_captured_record(trained, client, tmp_path):
    """A run on a copy of the capture, as the shipped sample, reports on its traffic whenever it runs."""
    exchanges = sample.mixed_requests(rows_of(trained, 30))
    older = sample.SAMPLE_START - timedelta(days=2)
    folder = captured(client, tmp_path / "captured", exchanges[:5], start=older)
    captured(client, folder, exchanges[5:])
    newest = sample.SAMPLE_START + sample.SPACING * (len(exchanges) - 6)

    report = monitor(trained, folder, window_end=None)["monitoring_report"]

    window = report["window"]
    assert (window["end"], window["end_included"]) == (newest.isoformat(), True)
    assert "newest captured record" in window["end_from"]
    # The day up to the newest record, that one included; the records two days older are out.
    assert (report["records"], report["verdict"]) == (len(exchanges) - 5, "no drift")
    assert window["first_capture"] == older.isoformat()


@pytest.mark.parametrize(("lineage", "configured", "expected"), [
    ({"model": {"name": "ml_on_aws_credit_data", "version": "4"}}, None, ("ml_on_aws_credit_data/4", "lineage record")),
    ({"model": {"name": "ml_on_aws_credit_data", "version": "4"}}, "ml_on_aws_credit_data/7",
     ("ml_on_aws_credit_data/7", "monitoring.model_version")),
    ({"model": None}, None, (None, None)),   # a run that registered no version
    (None, None, (None, None)),              # a model without a lineage record
])
def test_the_model_version_is_the_lineage_record_s_unless_configured(trained, client, tmp_path, lineage, configured,
                                                                    expected):
    folder = captured(client, tmp_path / "captured", sample.mixed_requests(rows_of(trained, 5)))

    outputs = monitor(trained, folder, lineage=lineage, model_version=configured)

    report = outputs["monitoring_report"]
    assert (report["model_version"], report["model_version_from"]) == expected
    assert (f"Model version {expected[0]}." in outputs["monitoring_summary"]) == (expected[0] is not None)


def _data(trained):
    from ml_on_aws.core.config import DataConfig

    return DataConfig.model_validate(trained["params"]["data"])


# ---------------------------------------------------------------- nodes on their own


def test_prediction_values_and_classes_shift(base_params):
    drift = base_params["drift"]
    test = pd.DataFrame({"prediction": [float(v) for v in range(1000)]})
    same = compare_predictions(test, pd.DataFrame({"prediction": test["prediction"].sample(300, random_state=1)}),
                               {"task": "regression", "target": "y"}, drift)
    moved = compare_predictions(test, pd.DataFrame({"prediction": test["prediction"].sample(300, random_state=1) + 400}),
                                {"task": "regression", "target": "y"}, drift)
    assert (same["drifted"], moved["drifted"]) == (False, True) and moved["shift"] > same["shift"]
    assert moved["distribution"]["live"]["p50"] > moved["distribution"]["test"]["p50"] + 300
    classes = pd.DataFrame({"prediction": ["good"] * 700 + ["bad"] * 300})
    flipped = compare_predictions(classes, pd.DataFrame({"prediction": ["good"] * 100 + ["bad"] * 200}),
                                  {"task": "classification", "target": "y"}, drift)
    assert flipped["drifted"] is True and flipped["distribution"]["bad"] == {"test": 0.3, "live": pytest.approx(2 / 3)}


def test_labels_without_a_key_or_the_target_are_refused_naming_the_columns(base_params):
    live = pd.DataFrame({"prediction": ["good"], "inference_id": ["a"], "event_id": ["e"], "row": [0]})
    with pytest.raises(ConfigurationError, match="ground_truth_labels has the columns id, Status; it needs inference_id or event_id"):
        score_live_traffic(live, pd.DataFrame({"id": ["a"], "Status": ["good"]}), pd.DataFrame({"Status": ["good"]}),
                           base_params["data"])


def test_labels_of_several_row_requests_need_their_row(base_params):
    live = pd.DataFrame({"prediction": [10.0, 20.0, 30.0], "inference_id": [None, None, "one"],
                         "event_id": ["e1", "e1", "e2"], "row": [0, 1, 0]})
    data = {"task": "regression", "target": "y"}
    by_event = score_live_traffic(live, pd.DataFrame({"event_id": ["e1", "e2"], "y": [11.0, 29.0]}), pd.DataFrame(), data)
    assert (by_event["labelled_rows"], by_event["ambiguous_labels"]) == (1, 1)
    with_rows = score_live_traffic(live, pd.DataFrame({"event_id": ["e1", "e1"], "row": [1, 0], "y": [22.0, 10.0]}),
                                   pd.DataFrame(), data)
    assert with_rows["labelled_rows"] == 2 and with_rows["metrics"]["mae"] == pytest.approx(1.0)
