"""SageMaker endpoint data capture: the JSON Lines records SageMaker writes for each request.

An endpoint with data capture on writes ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``,
one JSON document per line and per request (AWS documentation, SageMaker developer guide, "Capture
data from real-time endpoint" and "View captured data"):

    {"captureData": {
        "endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                           "data": "69,0,153.7,...", "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                           "data": "0.0254", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "aaaaaaaa-...", "inferenceId": "set by the caller, if it did",
                       "inferenceTime": "2022-02-14T17:25:49Z"},
     "eventVersion": "0"}

``encoding`` says how ``data`` holds the body: ``CSV`` and ``JSON`` as its text, ``BASE64`` as
the base64 of its bytes. SageMaker writes text for the content types listed in the endpoint
config's ``CaptureContentTypeHeader`` (``CsvContentTypes``, ``JsonContentTypes``) and base64
for any other, or for all when that header is not configured. A capture of input only or output
only has one of the two payloads. ``inferenceId`` is the ``InferenceId`` the caller passed to
InvokeEndpoint, the key to join ground-truth labels on; ``eventId`` is SageMaker's own.

The monitoring pipeline reads records with :func:`read_capture_record`; :func:`capture_record`
writes one as SageMaker does (the repository's capture sample and the tests).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CSV_ENCODING, JSON_ENCODING, BASE64_ENCODING = "CSV", "JSON", "BASE64"
ENCODINGS = (CSV_ENCODING, JSON_ENCODING, BASE64_ENCODING)
# SageMaker's defaults for CaptureContentTypeHeader (SageMaker Python SDK DataCaptureConfig).
CSV_CONTENT_TYPES = ("text/csv",)
JSON_CONTENT_TYPES = ("application/json",)
# The hour folder SageMaker writes a capture file into: .../yyyy/mm/dd/hh/<file>.jsonl
_HOUR_FOLDER = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")


class CaptureFormatError(ValueError):
    """A line that is not a data capture record; the message says what is missing or wrong."""


@dataclass(frozen=True)
class CapturedBody:
    """A captured request or response body, decoded to its bytes."""

    content_type: str
    body: bytes
    encoding: str


@dataclass(frozen=True)
class CaptureRecord:
    event_id: str | None
    inference_id: str | None
    inference_time: datetime
    request: CapturedBody | None
    response: CapturedBody | None


def read_capture_record(line: str) -> CaptureRecord:
    """One line of a capture file, or :class:`CaptureFormatError` naming what is wrong with it."""
    try:
        document = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CaptureFormatError(f"not JSON ({exc.msg}, character {exc.pos})") from None
    if not isinstance(document, dict) or not isinstance(document.get("captureData"), dict):
        raise CaptureFormatError("no captureData object")
    metadata = document.get("eventMetadata")
    if not isinstance(metadata, dict):
        raise CaptureFormatError("no eventMetadata object")
    capture = document["captureData"]
    request, response = capture.get("endpointInput"), capture.get("endpointOutput")
    if request is None and response is None:
        raise CaptureFormatError("captureData has neither endpointInput nor endpointOutput")
    return CaptureRecord(
        event_id=_text(metadata.get("eventId")),
        inference_id=_text(metadata.get("inferenceId")),
        inference_time=parse_time(metadata.get("inferenceTime"), "eventMetadata.inferenceTime"),
        request=None if request is None else _body(request, "endpointInput"),
        response=None if response is None else _body(response, "endpointOutput"),
    )


def parse_time(value: Any, where: str) -> datetime:
    """An ISO-8601 time (``2022-02-14T17:25:49Z``, fractions and offsets too) as UTC; a time
    without a zone is taken as UTC, as SageMaker writes its times."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise CaptureFormatError(f"{where} {value!r} is not an ISO-8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _body(payload: Any, where: str) -> CapturedBody:
    if not isinstance(payload, Mapping):
        raise CaptureFormatError(f"{where} is not an object")
    encoding = str(payload.get("encoding", "")).upper()
    if encoding not in ENCODINGS:
        raise CaptureFormatError(f"{where}.encoding {payload.get('encoding')!r} is none of {', '.join(ENCODINGS)}")
    data = payload.get("data")
    if not isinstance(data, str):
        raise CaptureFormatError(f"{where}.data is not a string")
    if encoding == BASE64_ENCODING:
        try:
            body = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise CaptureFormatError(f"{where}.data is not valid base64") from None
    else:
        body = data.encode("utf-8")
    return CapturedBody(content_type=str(payload.get("observedContentType") or ""), body=body, encoding=encoding)


def hour_of_capture_file(path: str) -> datetime | None:
    """The hour a capture file's folder names (``.../yyyy/mm/dd/hh/<file>``), else None."""
    found = _HOUR_FOLDER.search(path.replace("\\", "/"))
    if not found:
        return None
    try:
        return datetime(*map(int, found.groups()), tzinfo=UTC)
    except ValueError:
        return None


def capture_record(*, request: bytes, request_content_type: str, response: bytes, response_content_type: str,
                   inference_time: datetime, event_id: str, inference_id: str | None = None,
                   base64_only: bool = False) -> dict[str, Any]:
    """The record SageMaker writes for one request and its answer.

    Bodies of the default CSV and JSON content types are written as text, others as base64;
    ``base64_only`` writes both as base64, as SageMaker does when the endpoint config has no
    ``CaptureContentTypeHeader``.
    """
    metadata = {"eventId": event_id, "inferenceTime": inference_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    return {
        "captureData": {
            "endpointInput": _captured(request, request_content_type, "INPUT", base64_only),
            "endpointOutput": _captured(response, response_content_type, "OUTPUT", base64_only),
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


def _captured(body: bytes, content_type: str, mode: str, base64_only: bool) -> dict[str, str]:
    kind = content_type.split(";", 1)[0].strip().lower()
    if base64_only or kind not in CSV_CONTENT_TYPES + JSON_CONTENT_TYPES:
        encoding, data = BASE64_ENCODING, base64.b64encode(body).decode("ascii")
    else:
        encoding, data = (CSV_ENCODING if kind in CSV_CONTENT_TYPES else JSON_ENCODING), body.decode("utf-8")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}
