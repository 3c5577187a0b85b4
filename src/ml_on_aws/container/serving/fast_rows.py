"""Small CSV and JSON request bodies straight into the typed arrays the compiled path takes.

Only bodies whose every value types the same way as through pandas and the pipeline's
:class:`ColumnTypes` are taken: plain decimal numbers or missing markers in numeric columns,
text (not a number or a boolean) or missing markers in categorical ones. Anything else, a
quoted CSV field, a missing column, a value of another type, makes :func:`typed_rows` return
None and the request goes the pandas way (``payload``), with its validation and messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ml_on_aws.container.serving import payload
from ml_on_aws.pipelines.feature_engineering.compiled import CompiledModel

# Bodies up to this size are parsed here; larger ones are faster through pandas' C parser.
MAX_BYTES = 64 * 1024
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# What pandas.read_csv reads as missing by default (its STR_NA_VALUES), and as booleans.
_CSV_MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                          "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
_CSV_BOOLEANS = frozenset({"True", "TRUE", "true", "False", "FALSE", "false"})
Typed = dict[str, np.ndarray]


class _NotHere(Exception):
    """The body needs the pandas way."""


def typed_rows(body: bytes, kind: str, compiled: CompiledModel, columns: Sequence[str]) -> tuple[Typed, bool] | None:
    """The rows of ``body`` as the compiled path's typed columns and whether it was a CSV with a
    header line (a CSV answer has one exactly then, as in ``app._parse``), or None for the pandas way.

    ``columns`` is the training table's column order, which a CSV without a header follows."""
    if len(body) > MAX_BYTES or compiled.dates or kind == payload.JSONLINES:
        return None
    try:
        if kind == payload.CSV:
            return _from_csv(body, compiled, columns)
        return _from_json(body, compiled), False
    except _NotHere:
        return None


def _from_csv(body: bytes, compiled: CompiledModel, columns: Sequence[str]) -> tuple[Typed, bool]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _NotHere from None
    if '"' in text or "\r" in text and "\r\n" not in text:
        raise _NotHere
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise _NotHere
    first = [field.strip() for field in lines[0].split(",")]
    wanted = set(compiled.numeric) | set(compiled.categorical)
    header = bool(set(first) & (set(columns) | wanted))
    names, rows = (first, lines[1:]) if header else (list(columns), lines)
    if not rows or not wanted <= set(names) or len(set(names)) != len(names):
        raise _NotHere
    cells = [row.split(",") for row in rows]
    if any(len(row) != len(names) for row in cells):
        raise _NotHere
    position = {name: index for index, name in enumerate(names)}
    typed: Typed = {}
    for name in compiled.numeric:
        typed[name] = np.array([_csv_number(row[position[name]]) for row in cells], dtype="float64")
    for name in compiled.categorical:
        values = np.empty(len(cells), dtype=object)
        values[:] = [_csv_category(row[position[name]]) for row in cells]
        typed[name] = values
    return typed, header


def _field(raw: str) -> str:
    field = raw.lstrip(" ")  # pandas' skipinitialspace
    if field != field.rstrip():
        raise _NotHere
    return field


def _csv_number(raw: str) -> float:
    field = _field(raw)
    if field in _CSV_MISSING:
        return np.nan
    if not _NUMBER.fullmatch(field):
        raise _NotHere
    return float(field)


def _csv_category(raw: str) -> Any:
    field = _field(raw)
    if field in _CSV_MISSING:
        return np.nan
    if field in _CSV_BOOLEANS or _NUMBER.fullmatch(field):
        raise _NotHere  # pandas types a column of these as numbers or booleans first
    return field


def _from_json(body: bytes, compiled: CompiledModel) -> Typed:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _NotHere from None
    if isinstance(document, dict):
        for key in ("dataframe_split", "dataframe_records", "instances"):
            if key in document:
                document = document[key]
                break
    if isinstance(document, dict) and "columns" in document and "data" in document:
        names, data = document["columns"], document["data"]
        if not isinstance(names, list) or not isinstance(data, list) or not data:
            raise _NotHere
        if not all(isinstance(row, list) and len(row) == len(names) for row in data):
            raise _NotHere
        position = {str(name): index for index, name in enumerate(names)}
        if len(position) != len(names):
            raise _NotHere

        def column(name: str) -> list[Any]:
            if name not in position:
                raise _NotHere
            index = position[name]
            return [row[index] for row in data]
    elif isinstance(document, list) and document and all(isinstance(row, dict) for row in document):
        def column(name: str) -> list[Any]:
            values = [row.get(name) for row in document]
            if not any(name in row for row in document):
                raise _NotHere
            return values
    else:
        raise _NotHere
    typed: Typed = {}
    for name in compiled.numeric:
        typed[name] = np.array([_json_number(v) for v in column(name)], dtype="float64")
    for name in compiled.categorical:
        cells = [_json_category(v) for v in column(name)]
        values = np.empty(len(cells), dtype=object)
        values[:] = cells
        typed[name] = values
    return typed


def _json_number(value: Any) -> float:
    if value is None:
        return np.nan
    if type(value) is float or (type(value) is int and abs(value) < 2**53):  # exactly a float64, as in pandas
        return float(value)
    raise _NotHere  # text, booleans, structures: pandas coerces or refuses them


def _json_category(value: Any) -> Any:
    if value is None or (type(value) is float and value != value):
        return np.nan
    if type(value) is str:
        return value
    raise _NotHere  # numbers become text through pandas' column types
