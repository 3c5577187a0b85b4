"""Drift and quality of the traffic an endpoint received, read from its data capture files.

The requests are rebuilt into rows the way the prediction server reads them
(:mod:`ml_on_aws.core.payloads`), their answers into predictions, and the rows are compared with
the current model's reference rows by the drift stage's own statistics and thresholds
(:mod:`ml_on_aws.pipelines.drift_statistics`). A capture line that cannot be read, a request
the server would not read or an answer that is not predictions is counted and reported, never
fatal: live traffic is whatever clients sent.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ml_on_aws.core.config import (
    ConfigurationError,
    DataConfig,
    DriftConfig,
    MonitoringConfig,
    parse,
)
from ml_on_aws.core.data_capture import (
    CaptureFormatError,
    hour_of_capture_file,
    read_capture_record,
)
from ml_on_aws.core.dtypes import is_numeric
from ml_on_aws.core.lineage import model_label
from ml_on_aws.core.payloads import (
    PREDICTION,
    SUPPORTED,
    RequestError,
    answer_error,
    media_type,
    parse_predictions,
    request_rows,
)
from ml_on_aws.core.predictions import input_columns, prediction_columns
from ml_on_aws.pipelines.data_validation.expectations import jsonable
from ml_on_aws.pipelines.drift_statistics import (
    TAIL_WEIGHT_HOLDOUT,
    categorical_drift,
    drift_reasons,
    kl_divergence,
    numeric_drift,
)
from ml_on_aws.pipelines.evaluation.metrics import (
    positive_label,
    scores_of_classes,
    scores_of_values,
)

logger = logging.getLogger(__name__)

# The columns of the rebuilt rows' predictions that say where each row came from.
ORIGIN = ["file", "line", "event_id", "inference_id", "inference_time", "row"]
# Keys ground-truth labels may be joined on, in order of preference (eventMetadata fields).
LABEL_KEYS = ("inference_id", "event_id")
# Examples of unreadable records kept in the report (all are counted).
_EXAMPLES = 20
_HOUR = timedelta(hours=1)


# ---------------------------------------------------------------- the window


def select_window(captured_data: pd.DataFrame, monitoring_params: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The capture records of the window (the ``hours`` before ``end``), parsed, and the window.

    ``end`` null means the newest captured record's time, that record included: a run on a copy
    of the capture (the shipped sample, an export) reports on its latest traffic whenever it
    runs; the scheduled job always passes an explicit end. Without any readable record the end
    is the run's start. A record's time is its ``inferenceTime``. A line that is not a capture
    record has none: it belongs to the window when the hour folder of its file does
    (``.../yyyy/mm/dd/hh/``), or to every window when its file is in no hour folder, so it is
    counted rather than lost.
    """
    window = parse(MonitoringConfig, monitoring_params, "monitoring").window
    parsed = []
    for file, line, text in captured_data[["file", "line", "text"]].itertuples(index=False):
        try:
            parsed.append((file, line, read_capture_record(text), None))
        except CaptureFormatError as exc:
            parsed.append((file, line, None, str(exc)))
    times = [record.inference_time for _, _, record, _ in parsed if record is not None]
    if window.end is not None:
        end, end_from, inclusive = window.end, "monitoring.window.end", False
    elif times:
        end, end_from, inclusive = max(times), "the newest captured record (monitoring.window.end is null)", True
    else:
        end, end_from, inclusive = datetime.now(UTC), "the run's start (monitoring.window.end is null, no record has a time)", False
    start = end - timedelta(hours=window.hours)

    def in_window(time: datetime) -> bool:
        return start <= time < end or (inclusive and time == end)

    records = []
    for file, line, record, problem in parsed:
        if record is None:
            hour = hour_of_capture_file(file)
            if hour is None or (hour + _HOUR > start and (hour < end or (inclusive and hour == end))):
                records.append({"file": file, "line": line, "problem": problem})
        elif in_window(record.inference_time):
            records.append({
                "file": file, "line": line, "event_id": record.event_id, "inference_id": record.inference_id,
                "inference_time": record.inference_time, "request": record.request, "response": record.response,
                "problem": None,
            })
    columns = ["file", "line", "event_id", "inference_id", "inference_time", "request", "response", "problem"]
    selected = pd.DataFrame(records, columns=columns)
    found = {"start": start.isoformat(), "end": end.isoformat(), "end_from": end_from, "end_included": inclusive,
             "hours": window.hours, "captured_lines": len(captured_data), "lines_in_window": len(selected),
             "first_capture": min(times).isoformat() if times else None,
             "last_capture": max(times).isoformat() if times else None}
    logger.info("Window %s to %s (%s h, the end from %s): %d of %d captured lines.", found["start"], found["end"],
                window.hours, end_from, len(selected), len(captured_data))
    if times and selected["problem"].notna().all():
        logger.warning("No captured request in the window; the captures are from %s to %s. Set the window with "
                       "--params monitoring.window.end=<ISO time>,monitoring.window.hours=<hours>.",
                       found["first_capture"], found["last_capture"])
    return selected, found


# ---------------------------------------------------------------- requests and answers


def rebuild_live_rows(
    capture_records: pd.DataFrame, reference_data: pd.DataFrame, model: Any, data_params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The rows of the captured requests, their predictions from the captured answers, and what
    could not be read.

    Requests are read as the server reads them: CSV with a header, or without one in the training
    table's column order (the reference rows' columns without the target), and every JSON shape.
    A record whose request cannot be read, or that the endpoint answered with an error, gives no
    rows; one whose answer cannot be read keeps its rows without predictions.
    """
    data = parse(DataConfig, data_params, "data")
    columns = [c for c in map(str, reference_data.columns) if c != data.target]
    required, outputs = input_columns(model), prediction_columns(model)
    frames, predictions, problems, response_problems = [], [], [], []
    for record in capture_records.itertuples(index=False):
        where = {"file": record.file, "line": int(record.line), "event_id": _missing_as_none(record.event_id)}
        rows, problem = _request_rows(record, columns, required)
        if problem:
            problems.append({**where, **problem})
            continue
        answered, problem = _answer(record, len(rows), outputs)
        if problem:
            response_problems.append({**where, **problem})
        origin = {"file": record.file, "line": int(record.line), "event_id": record.event_id,
                  "inference_id": record.inference_id, "inference_time": record.inference_time}
        frames.append(rows)
        predictions.append(answered.assign(**origin, row=np.arange(len(rows))))
    features = _like_reference(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=required),
                               reference_data)
    live_predictions = (pd.concat(predictions, ignore_index=True) if predictions
                        else pd.DataFrame(columns=[*outputs, *ORIGIN]))[ORIGIN + outputs]
    parsing = {
        "records": len(frames),
        "rows": len(features),
        "unparsed_records": len(problems),
        "unparsed_responses": len(response_problems),
        "problems": dict(Counter(p["kind"] for p in problems + response_problems)),
        "examples": (problems + response_problems)[:_EXAMPLES],
    }
    if problems or response_problems:
        logger.warning("%d captured record(s) without rows and %d without predictions (%s); first: %s",
                       len(problems), len(response_problems), parsing["problems"], parsing["examples"][0]["reason"])
    logger.info("Rebuilt %d rows from %d captured requests.", len(features), len(frames))
    return features, live_predictions, jsonable(parsing)


def _missing_as_none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _request_rows(record: Any, columns: list[str], required: list[str]) -> tuple[pd.DataFrame | None, dict | None]:
    if isinstance(record.problem, str):
        return None, {"kind": "not a capture record", "reason": record.problem}
    if record.request is None:
        return None, {"kind": "no request captured", "reason": "the record has no endpointInput (capture mode Output)"}
    kind = media_type(record.request.content_type)
    if kind not in SUPPORTED:
        return None, {"kind": "content type the server does not read",
                      "reason": f"request content type {record.request.content_type!r}; the server reads {', '.join(SUPPORTED)}"}
    refused = answer_error(record.response.body) if record.response is not None else None
    if refused is not None:
        return None, {"kind": "refused by the endpoint", "reason": f"the endpoint answered an error: {refused}"}
    try:
        rows, _ = request_rows(record.request.body, kind, columns, required)
    except RequestError as exc:
        return None, {"kind": "request not readable", "reason": exc.message}
    return rows.reset_index(drop=True), None


def _answer(record: Any, rows: int, outputs: list[str]) -> tuple[pd.DataFrame, dict | None]:
    """The answer's predictions for ``rows`` request rows; all missing when it cannot be read."""
    missing = pd.DataFrame(np.nan, index=range(rows), columns=outputs, dtype=object)
    if record.response is None:
        return missing, {"kind": "no answer captured", "reason": "the record has no endpointOutput (capture mode Input)"}
    try:
        answered = parse_predictions(record.response.body, media_type(record.response.content_type), outputs)
    except ValueError as exc:
        return missing, {"kind": "answer not readable", "reason": str(exc)}
    if len(answered) != rows:
        return missing, {"kind": "answer not readable",
                         "reason": f"{len(answered)} predictions for {rows} request rows"}
    return answered.reindex(columns=outputs).reset_index(drop=True), None


def _like_reference(features: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as numbers where the reference has numbers: requests of one record may
    leave a column empty (JSON null, an empty CSV field), which pandas reads as text."""
    typed = {}
    for column in features.columns:
        if column in reference.columns and is_numeric(reference[column]) and not is_numeric(features[column]):
            typed[column] = pd.to_numeric(features[column], errors="coerce")
    return features.assign(**typed) if typed else features


# ---------------------------------------------------------------- predictions


def compare_predictions(test_predictions: pd.DataFrame, live_predictions: pd.DataFrame,
                        data_params: dict[str, Any], drift_params: dict[str, Any]) -> dict[str, Any]:
    """The live predictions' distribution against the model's on its test set: classes (shares,
    chi-square) or values (quantiles, KS, Wasserstein), PSI as the one number (``shift``), and
    whether it counts as drift under the drift thresholds."""
    data = parse(DataConfig, data_params, "data")
    drift = parse(DriftConfig, drift_params, "drift")
    values = data.task == "regression"
    test = test_predictions[PREDICTION].dropna()
    live = live_predictions[PREDICTION].dropna()
    result: dict[str, Any] = {"kind": "numeric" if values else "categorical", "test_rows": len(test), "live_rows": len(live)}
    if live.empty:
        return {**result, "shift": None, "drifted": False, "reasons": []}
    if values:
        test, live = test.astype(float), pd.to_numeric(live, errors="coerce").dropna()
        found = numeric_drift(test, live, drift.numeric_bins)
        result["distribution"] = {"test": _quantiles(test), "live": _quantiles(live)}
    else:
        test, live = test.astype(str), live.astype(str)
        found = categorical_drift(test, live)
        shares = pd.concat([test.value_counts(normalize=True).rename("test"),
                            live.value_counts(normalize=True).rename("live")], axis=1).fillna(0.0)
        result["distribution"] = shares.sort_values("test", ascending=False).to_dict(orient="index")
    found["kl_divergence"] = kl_divergence(test, live, drift.numeric_bins, TAIL_WEIGHT_HOLDOUT)
    reasons = drift_reasons(found, drift)
    if reasons:
        logger.warning("Live predictions differ from the test set's: %s", "; ".join(reasons))
    return jsonable({**result, **found, "shift": found.get("psi"), "drifted": bool(reasons), "reasons": reasons})


def _quantiles(values: pd.Series) -> dict[str, float]:
    points = values.quantile([0.05, 0.25, 0.5, 0.75, 0.95])
    return {"mean": float(values.mean()), "std": float(values.std(ddof=0)),
            **{f"p{round(q * 100):02d}": float(v) for q, v in points.items()}}


# ---------------------------------------------------------------- quality


def score_live_traffic(live_predictions: pd.DataFrame, ground_truth_labels: pd.DataFrame,
                       test_predictions: pd.DataFrame, data_params: dict[str, Any]) -> dict[str, Any]:
    """The task's quality metrics of the live predictions that have a ground-truth label.

    Labels are joined on ``inference_id`` (the InferenceId the caller sent), else ``event_id``,
    and on ``row`` (0-based position in the request) when the labels have one; without it a
    key that names a request of several rows is ambiguous and left out. No labels (an empty
    table) means no metrics.
    """
    data = parse(DataConfig, data_params, "data")
    result: dict[str, Any] = {"labels": len(ground_truth_labels), "labelled_rows": 0, "metrics": {}}
    if ground_truth_labels.empty:
        return {**result, "note": "no ground-truth labels"}
    if data.task == "clustering":
        return {**result, "note": "clustering has no labels to score"}
    target = data.target
    key = next((k for k in LABEL_KEYS if k in ground_truth_labels.columns), None)
    if key is None or target not in ground_truth_labels.columns:
        raise ConfigurationError(
            f"ground_truth_labels has the columns {', '.join(map(str, ground_truth_labels.columns))}; it needs "
            f"{' or '.join(LABEL_KEYS)} (the request's InferenceId or SageMaker's eventId) and '{target}' (the label), "
            "and a 'row' column (0-based position in the request) for requests of several rows."
        )
    on = [key, "row"] if "row" in ground_truth_labels.columns else [key]
    labels = ground_truth_labels.dropna(subset=[*on, target]).astype({key: str})
    if "row" in on:
        labels = labels.astype({"row": "int64"})
    labels = labels.drop_duplicates(subset=on, keep="last")[[*on, target]]
    scored = live_predictions[live_predictions[PREDICTION].notna() & live_predictions[key].notna()].astype({key: str})
    ambiguous = 0
    if "row" not in on:
        rows_per_key = scored[key].value_counts()
        several = set(rows_per_key[rows_per_key > 1].index) & set(labels[key])
        ambiguous = len(several)
        scored = scored[~scored[key].isin(several)]
    joined = scored.merge(labels, on=on, how="inner", suffixes=("", "_label"))
    label_column = f"{target}_label" if target in scored.columns else target
    result.update(key=key, labelled_rows=len(joined), unmatched_labels=len(labels) - len(joined) - ambiguous,
                  ambiguous_labels=ambiguous)
    if joined.empty:
        return {**result, "note": f"no label matched a captured request by {' and '.join(on)}"}
    y = joined[label_column]
    if data.task == "regression":
        metrics = scores_of_values(y.astype(float), pd.to_numeric(joined[PREDICTION], errors="coerce").astype(float))
    else:
        metrics = _classification_metrics(joined, y, test_predictions, data)
    logger.info("Live quality on %d labelled rows: %s", len(joined), {k: round(v, 4) for k, v in metrics.items()})
    return jsonable({**result, "metrics": metrics})


def _classification_metrics(joined: pd.DataFrame, y: pd.Series, test_predictions: pd.DataFrame, data: DataConfig) -> dict:
    """Scores of the answered classes (and probabilities, when every joined row has them); classes
    and labels compared as text, as CSV and JSON carry them."""
    proba_columns = [c for c in joined.columns if c.startswith("proba_")]
    if proba_columns and joined[proba_columns].notna().all().all():
        classes = [c.removeprefix("proba_") for c in proba_columns]
        proba = joined[proba_columns].to_numpy(dtype=float)
    else:
        classes = sorted(test_predictions[data.target].dropna().astype(str).unique())
        proba = None
    if data.positive_label is not None:
        positive = str(data.positive_label)
    else:
        positive = str(positive_label(test_predictions[data.target].dropna().astype(str), data))
    if positive not in classes:
        proba = None
    return scores_of_classes(y.astype(str), joined[PREDICTION].astype(str).to_numpy(), proba, classes, data,
                             positive=positive)


# ---------------------------------------------------------------- report


def build_monitoring_report(
    window: dict[str, Any], parsing: dict[str, Any], drift_report: dict[str, Any], drift_signal: dict[str, Any],
    predictions: dict[str, Any], quality: dict[str, Any], monitoring_params: dict[str, Any],
    model_lineage: dict[str, Any] | None,
) -> dict[str, Any]:
    """One report of the window: the drift stage's retrain signal and drifted columns (same keys
    as ``retrain_signal.json``), then traffic, prediction shift, live quality and the details.

    The model version is ``monitoring.model_version`` or, when that is null, the registered
    version the model's lineage record names (None without a record or a registered version).
    """
    config = parse(MonitoringConfig, monitoring_params, "monitoring")
    model_version, version_from = _model_version(config, model_lineage)
    checked = drift_signal["checked_columns"]
    if parsing["rows"] == 0:
        verdict = "no traffic"
    else:
        verdict = drift_report["verdict"]
    report = {
        **drift_signal,
        "verdict": verdict,
        "drift_share": len(drift_signal["drifted_columns"]) / checked if checked else 0.0,
        "records": parsing["records"],
        "rows": parsing["rows"],
        "unparsed_records": parsing["unparsed_records"],
        "unparsed_responses": parsing["unparsed_responses"],
        "prediction_shift": predictions.get("shift"),
        "prediction_drifted": predictions["drifted"],
        "live_metrics": quality["metrics"],
        "labelled_rows": quality["labelled_rows"],
        "model_version": model_version,
        "model_version_from": version_from,
        "window": window,
        "capture": parsing,
        "predictions": predictions,
        "quality": quality,
        "drift": {key: drift_report[key] for key in ("settings", "columns")},
    }
    logger.info("Monitoring: %s (%d records, %d unparsed, retrain %d, prediction shift %s, live metrics %s).",
                verdict, report["records"], report["unparsed_records"], report["retrain"],
                "n/a" if report["prediction_shift"] is None else f"{report['prediction_shift']:.4g}",
                {k: round(v, 4) for k, v in quality["metrics"].items() if isinstance(v, float)} or "none")
    return jsonable(report)


def _model_version(config: MonitoringConfig, model_lineage: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The version the report names and where it came from (None, None: unknown)."""
    if config.model_version is not None:
        return config.model_version, "monitoring.model_version"
    recorded = model_label((model_lineage or {}).get("model") if isinstance(model_lineage, dict) else None)
    if recorded is None:
        logger.info("No model version: monitoring.model_version is null and the model's lineage record names none.")
        return None, None
    logger.info("Model version %s, from the model's lineage record.", recorded)
    return recorded, "lineage record"


def render_monitoring_summary(report: dict[str, Any], reference_data: pd.DataFrame, live_features: pd.DataFrame,
                              test_predictions: pd.DataFrame, live_predictions: pd.DataFrame) -> str:
    """A one-page HTML summary: verdict, traffic, quality, the predictions' and each compared
    column's distribution (reference against live, drifted columns first)."""
    from ml_on_aws.pipelines.monitoring import summary

    return summary.render(report, reference_data, live_features, test_predictions, live_predictions)
