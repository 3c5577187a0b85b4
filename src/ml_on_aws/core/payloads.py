"""The bodies the prediction server reads and writes: request bodies to a table of rows, and
predictions to the bytes a client asked for and back.

The server (``ml_on_aws.container.serving``) parses requests and renders answers with these; the
monitoring pipeline rebuilds the rows and predictions of the requests an endpoint captured with
the same functions, so both read every shape the server accepts in the same way. Every problem
with a request raises :class:`RequestError` with the HTTP status and a message that names it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

CSV = "text/csv"
JSON = "application/json"
# One JSON document per line: what batch transform sends with SplitType Line and MultiRecord.
JSONLINES = "application/jsonlines"
SUPPORTED = (CSV, JSON, JSONLINES)
# The first column of every answer; ``proba_<class>`` columns follow it for classifiers.
PREDICTION = "prediction"


class RequestError(Exception):
    """A request the server refuses: ``status`` is the HTTP code, the message says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``."""
    return (header or "").split(";", 1)[0].strip().lower()


def parse_csv(body: bytes, columns: Sequence[str], required: Sequence[str]) -> tuple[pd.DataFrame, bool]:
    """Rows of a CSV body and whether it had a header.

    The first line is a header when one of its fields is a column name; without a header the
    fields must be all ``columns`` in the order of the training table (as batch transform sends).
    A header line alone gives a frame with those columns and no rows (see ``check_columns``).
    """
    text = _decode(body)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    try:
        first = next(csv.reader([first_line]))
    except (csv.Error, StopIteration):
        raise RequestError(400, "Malformed CSV: the first line cannot be read.") from None
    names = {c.strip() for c in first}
    has_header = bool(names & set(columns)) or bool(names & set(required))
    try:
        if has_header:
            frame = pd.read_csv(io.StringIO(text), header=0, skipinitialspace=True)
        else:
            frame = pd.read_csv(io.StringIO(text), header=None, names=list(columns), index_col=False,
                                skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        raise RequestError(400, f"Malformed CSV: {_one_line(exc)}") from None
    if not has_header:
        _check_field_count(text, first, columns)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, has_header


def _check_field_count(text: str, first: list[str], columns: Sequence[str]) -> None:
    if len(first) != len(columns):
        raise RequestError(
            400,
            f"CSV without a header must have {len(columns)} fields per row in this order: {', '.join(columns)}; "
            f"the first row has {len(first)}. Or send a header line with the column names.",
        )


def parse_json(body: bytes, lines: bool = False) -> pd.DataFrame:
    """A JSON body, or with ``lines`` a JSON Lines body: each line a row object or any document
    a JSON body may be, the rows of all lines in order."""
    if not lines:
        try:
            frame = _json_frame(body)
        except RequestError as exc:
            # Several documents, one per line: a JSON Lines file sent as application/json (batch
            # transform with SplitType Line and MultiRecord joins lines into one request).
            if "Extra data" not in exc.message:
                raise
            lines = True
    if lines:
        frames = [_json_frame(line) for line in body.splitlines() if line.strip()]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    # Only mixed (object) columns can hold lists or dicts; text and numbers have their own dtypes.
    for name in [c for c, dtype in frame.dtypes.items() if pd.api.types.is_object_dtype(dtype)]:
        nested = frame[name].map(lambda v: isinstance(v, dict | list))
        if nested.any():
            raise RequestError(400, f"Column {name!r} holds a list or object (row {int(nested.to_numpy().argmax())}); "
                                    "cells must be numbers, text, true/false or null.")
    return frame


def _json_frame(body: bytes) -> pd.DataFrame:
    """Records (``[{"col": value, ...}, ...]``) or split (``{"columns": [...], "data": [[...]]}``).

    MLflow's wrappers (``dataframe_records``, ``dataframe_split``) and ``instances`` are accepted too.
    """
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"Malformed JSON: {_one_line(exc)}") from None
    if isinstance(document, dict):
        for key in ("dataframe_split", "dataframe_records", "instances"):
            if key in document:
                document = document[key]
                break
    if isinstance(document, list):
        if not all(isinstance(row, dict) for row in document):
            raise RequestError(
                400, 'A JSON list must hold one object per row ("records" orientation); for rows as lists send '
                '{"columns": [...], "data": [[...], ...]} ("split" orientation).'
            )
        return pd.DataFrame.from_records(document) if document else pd.DataFrame()
    if isinstance(document, dict) and "columns" in document and "data" in document:
        columns, data = document["columns"], document["data"]
        if not isinstance(columns, list) or not isinstance(data, list) or not all(isinstance(r, list) for r in data):
            raise RequestError(400, 'In the "split" orientation "columns" must be a list of names and "data" a list of rows (lists).')
        widths = {len(row) for row in data}
        if widths - {len(columns)}:
            raise RequestError(400, f'Every row of "data" must have {len(columns)} values, one per column; found rows of {sorted(widths)}.')
        return pd.DataFrame(data, columns=[str(c) for c in columns])
    if isinstance(document, dict) and document and all(not isinstance(v, dict | list) for v in document.values()):
        return pd.DataFrame([document])
    raise RequestError(
        400, 'Unrecognised JSON: send a list of row objects ("records") or {"columns": [...], "data": [[...]]} ("split").'
    )


def check_columns(frame: pd.DataFrame, required: Sequence[str], header: bool = False) -> None:
    """The request names every column the model reads and, unless it is a CSV ``header`` line
    alone, has rows.

    A header line alone is what batch transform sends first for a CSV file with a header under
    ``SplitType: Line`` + ``BatchStrategy: SingleRecord``: Line splits "on a newline character
    boundary" and SingleRecord "sends individual records in each request"
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TransformInput.html), a record
    being "a single line in a CSV file" (CreateTransformJob ``BatchStrategy``). No documented
    setting skips a header line: TransformInput has none, and DataProcessing's ``InputFilter``
    selects fields of each record, not records. Answering it 400 put the error body into the
    output as a line; it is answered with the predictions' header instead (see ``render``).
    """
    if frame.empty and not (header and len(frame.columns)):
        raise RequestError(400, "The request has no rows.")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise RequestError(400, f"Missing column(s): {', '.join(missing)}. The model reads: {', '.join(required)}.")


def request_rows(body: bytes, kind: str, columns: Sequence[str], required: Sequence[str]) -> tuple[pd.DataFrame, bool]:
    """The rows of a request body of media type ``kind`` (only the ``required`` columns, which it
    must have) and whether it was a CSV with a header line (a CSV answer has one exactly then).

    ``columns`` is the training table's column order, which a CSV without a header follows.
    """
    if not body.strip():
        raise RequestError(400, "The request body is empty.")
    if kind == CSV:
        frame, header = parse_csv(body, columns, required)
    else:
        # A CSV answer to JSON rows has no header line, so a client gets exactly one line per row
        # (the SageMaker SDK's JSONSerializer with its CSVDeserializer); X-Prediction-Columns names them.
        frame, header = parse_json(body, lines=kind == JSONLINES), False
    check_columns(frame, required, header=header)
    return frame[list(required)], header


def render(predictions: pd.DataFrame, kind: str, header: bool = True) -> bytes:
    """Predictions in ``kind``; a CSV answer has a header line exactly when ``header``.

    Predictions of no rows (a CSV request that is only a header line) go the same way, so a
    SingleRecord transform's output is the predictions' header, then one prediction per record,
    as a MultiRecord one is: in CSV the header line alone; in JSON ``{"predictions":[]}``, the
    shape of every JSON answer; in JSON Lines an empty body, since JSON Lines has no header line
    and no row is no line (``AssembleWith: Line`` may still end the empty record with a newline,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TransformOutput.html).
    """
    return render_columns(list(map(str, predictions.columns)),
                          [predictions[c].to_numpy() for c in predictions.columns], kind, header)


def render_columns(names: list[str], columns: Sequence[np.ndarray], kind: str, header: bool = True) -> bytes:
    """``render`` from the prediction arrays, without a DataFrame: the same bytes whichever path
    scored the rows. Numbers are written exactly (Python's shortest round-trip form), missing
    or infinite ones as an empty CSV field or JSON null."""
    rows = list(zip(*(_plain(values) for values in columns), strict=True)) if columns else []
    if kind == CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if header:
            writer.writerow(names)
        writer.writerows(rows)
        return out.getvalue().encode()
    records = [dict(zip(names, row, strict=True)) for row in rows]
    if kind == JSONLINES:  # one line per row, so AssembleWith Line keeps input and output lines paired
        return "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records).encode()
    return b'{"predictions":' + json.dumps(records, separators=(",", ":")).encode() + b"}"


def parse_predictions(body: bytes, kind: str, columns: Sequence[str]) -> pd.DataFrame:
    """The prediction table of an answer :func:`render` wrote, one row per request row: CSV with
    its header line, or without one (the fields are ``columns``, ``prediction`` then a
    ``proba_<class>`` per class), JSON ``{"predictions": [...]}`` or JSON Lines.

    Raises ``ValueError`` naming what is wrong when the body is not such an answer (an error
    body ``{"error": ...}`` included).
    """
    try:
        if kind == CSV:
            text = body.decode("utf-8-sig")
            first = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")]), [])
            if PREDICTION in (field.strip() for field in first):
                frame = pd.read_csv(io.StringIO(text), header=0, skipinitialspace=True)
            else:
                frame = pd.read_csv(io.StringIO(text), header=None, names=list(columns), index_col=False,
                                    skipinitialspace=True)
                if len(first) != len(columns):
                    raise ValueError(f"a CSV answer without a header has {len(columns)} fields per row "
                                     f"({', '.join(columns)}); its first row has {len(first)}")
        elif kind == JSONLINES:
            frame = pd.DataFrame.from_records([json.loads(line) for line in body.splitlines() if line.strip()])
        else:
            document = json.loads(body)
            rows = document.get("predictions") if isinstance(document, dict) else None
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise ValueError('a JSON answer is {"predictions": [{...}, ...]}; this one is not')
            frame = pd.DataFrame.from_records(rows)
    except (UnicodeDecodeError, json.JSONDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise ValueError(f"not a {kind} answer: {_one_line(exc)}") from None
    if len(frame) and PREDICTION not in frame.columns:
        raise ValueError(f"the answer has no {PREDICTION!r} column (columns: {', '.join(map(str, frame.columns))})")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _plain(values: np.ndarray) -> list:
    """Python values for the encoders; NaN and infinities (not JSON) as None."""
    if values.dtype.kind == "f":
        return [v if math.isfinite(v) else None for v in values.tolist()]
    return [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]


def error_body(message: str) -> bytes:
    """The body of every answer that is not predictions: ``{"error": message}`` (JSON)."""
    return json.dumps({"error": message}).encode()


def answer_error(body: bytes) -> str | None:
    """The message of an :func:`error_body` answer; None for any other body."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(document, dict) and set(document) == {"error"}:
        return str(document["error"])
    return None


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RequestError(400, "Malformed CSV: the body is not UTF-8 text.") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
