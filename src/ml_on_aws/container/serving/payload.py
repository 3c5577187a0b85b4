"""The server's side of a request: which body format it is and which one to answer in.

The bodies themselves (CSV and JSON rows in, predictions out) are read and written by
:mod:`ml_on_aws.core.payloads`, which the monitoring pipeline shares to rebuild captured
requests; its names are re-exported here, so the server reads ``payload.parse_csv``,
``payload.render`` and so on from one module.
"""

from __future__ import annotations

from ml_on_aws.core.payloads import (
    CSV,
    JSON,
    JSONLINES,
    SUPPORTED,
    RequestError,
    check_columns,
    error_body,
    media_type,
    parse_csv,
    parse_json,
    render,
    render_columns,
    request_rows,
)

__all__ = ["CSV", "JSON", "JSONLINES", "SUPPORTED", "RequestError", "check_columns", "error_body", "media_type",
           "parse_csv", "parse_json", "render", "render_columns", "request_format", "request_rows", "response_format"]


def request_format(content_type: str | None) -> str:
    kind = media_type(content_type)
    if kind not in SUPPORTED:
        raise RequestError(415, f"Unsupported Content-Type {kind or '(none)'!r}; send one of: {', '.join(SUPPORTED)}.")
    return kind


def response_format(accept: str | None, request_kind: str) -> str:
    """The first supported type the Accept header lists; the request's own type for */* or none."""
    if not accept or not accept.strip():
        return request_kind
    for part in accept.split(","):
        kind = media_type(part)
        if kind in SUPPORTED:
            return kind
        if kind in ("*/*", "text/*", "application/*"):
            return request_kind if kind == "*/*" or request_kind.startswith(kind[:-1]) else (CSV if kind == "text/*" else JSON)
    raise RequestError(406, f"Cannot answer with Accept {accept!r}; the server returns one of: {', '.join(SUPPORTED)}.")
