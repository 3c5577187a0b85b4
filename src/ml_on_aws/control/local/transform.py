"""Batch transform emulated against a served model: each input object's records sent to
``/invocations`` in batches as batch transform sends them (``SplitType``, ``BatchStrategy``,
``MaxPayloadInMB``), the answers written to ``<output>/<file>.out``."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from ml_on_aws.control.local import Echo
from ml_on_aws.control.local.transfer import list_objects, split_s3_uri


def transform_objects(s3: Any, url: str, request: dict[str, Any], echo: Echo) -> str | None:
    """Send every input object of the ``create_transform_job`` request to the server at ``url``
    and upload the answers; the ``FailureReason`` of the first batch it refuses, else None."""
    source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, _ = split_s3_uri(source)
    output = request["TransformOutput"]
    out_bucket, out_prefix = split_s3_uri(output["S3OutputPath"])
    for key, relative in list_objects(s3, source):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        answers = []
        for batch in batches(body, request["TransformInput"].get("SplitType", "None"),
                             request.get("BatchStrategy", "MultiRecord"),
                             request.get("MaxPayloadInMB", 6) * 1024 * 1024):
            status, answer = _post(f"{url}/invocations", batch,
                                   request["TransformInput"].get("ContentType", "text/csv"),
                                   output.get("Accept", "text/csv"))
            if status != 200:
                return f"ClientError: {relative}: /invocations answered {status}: {answer[:300]!r}"
            answers.append(answer.rstrip(b"\n"))
        out_key = f"{out_prefix.rstrip('/')}/{relative}.out".lstrip("/")
        s3.put_object(Bucket=out_bucket, Key=out_key, Body=b"\n".join(answers) + b"\n")
        echo(f"Uploaded s3://{out_bucket}/{out_key}")
    return None


def batches(body: bytes, split_type: str, strategy: str, max_bytes: int) -> list[bytes]:
    """The request bodies batch transform sends for one object: the whole object
    (``SplitType`` None), one record each (``SingleRecord``) or as many whole lines as fit
    in ``max_bytes`` (``MultiRecord``)."""
    if split_type == "None":
        return [body]
    records = [line + b"\n" for line in body.splitlines() if line.strip()]
    if strategy == "SingleRecord":
        return records
    out: list[bytes] = []
    current = b""
    for record in records:
        if current and len(current) + len(record) > max_bytes:
            out.append(current)
            current = b""
        current += record
    return [*out, current] if current else out


def _post(url: str, body: bytes, content_type: str, accept: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()

