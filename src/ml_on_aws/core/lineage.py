"""Where a model came from: the lineage record a run writes, and the names it travels under.

A ``kedro run`` records, once its last node has run (``ml_on_aws.hooks.lineage``)::

    {"format": 1,
     "model": {"name": "ml_on_aws_credit_data", "version": "3"},      # null: the run registered none
     "mlflow_run_id": "0f3c...",                                        # null: the run was not tracked
     "kedro_run": {"version": "2026-12-06T02.34.35.042Z", "env": "local", "pipelines": ["__default__"],
                   "manifest": "data/runs/committed/2026-12-06T02.34.35.042Z.json"},
     "datasets": {"read": {"raw_data": "data/01_raw/credit_data.csv", ...},
                  "saved": {"model": "@2026-12-06T02.34.35.042Z", ...}},   # as the run manifest lists them
     "inputs": {"raw_data": {"location": ..., "size": ..., ...}},          # identity of the data read from outside
     "code": {"commit": "9a1b...", "dirty": false},
     "image": {"uri": null, "digest": null}}                               # the container image; null outside one

An input's identity is what storage says about the very object read: on S3 its version id
(versioned buckets), ETag and last-modified time; on the local disk its size, modification time
and SHA-256; a folder (a SageMaker channel) lists its files so.

The record is the file ``lineage.json`` in the MLflow model directory (so it travels to
``/opt/ml/model`` and ``model.tar.gz``), the MLflow run's artifact ``lineage.json``, and, in short,
tags of the MLflow run and the registered model version (:func:`mlflow_tags`). ``kedro lineage``
reads it back (``ml_on_aws.control.lineage``).

The image: the request builders (``ml_on_aws.sagemaker.requests``) put the job's image URI and,
when known, its digest in the container's environment (:data:`IMAGE_VARIABLE`,
:data:`IMAGE_DIGEST_VARIABLE`); a run outside a container has neither and records nulls.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LINEAGE_FILE = "lineage.json"
FORMAT = 1
# Set by the request builders in a SageMaker job's container: the image it runs. Distinct from
# ML_ON_AWS_IMAGE_URI (the image a laptop or the Lambda starts jobs with), so a local run in a
# shell that exported that one does not claim to have run in an image.
IMAGE_VARIABLE = "ML_ON_AWS_CONTAINER_IMAGE"
IMAGE_DIGEST_VARIABLE = "ML_ON_AWS_CONTAINER_IMAGE_DIGEST"
# What a run outside any container image shows for its image.
NO_IMAGE = "local"

# Tags of the MLflow run and of the registered model version (the git commit is already the run's
# `git_commit` tag, ml_on_aws.hooks.tracking).
TAG_KEDRO_RUN = "lineage.kedro_run"
TAG_IMAGE = "lineage.image"
TAG_GIT_COMMIT = "lineage.git_commit"
TAG_INPUT_PREFIX = "lineage.input."
# MLflow takes tag values of up to 5000 characters (8000 in newer stores): short enough for both.
_TAG_VALUE_LIMIT = 5000

_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")
_MODEL_REFERENCE = re.compile(r"^(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[A-Za-z0-9_-]+))$")


class LineageError(ValueError):
    """A model, run or endpoint that cannot be traced; the message names it and what to try."""


def digest_in(uri: str | None) -> str | None:
    """The ``sha256:...`` digest an image reference pins (``repo@sha256:...``), or None."""
    match = _DIGEST.search(uri or "")
    return match.group(1) if match else None


def running_image(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The image this process runs in, as the job request's environment names it; nulls outside one."""
    environ = os.environ if environ is None else environ
    uri = environ.get(IMAGE_VARIABLE) or None
    return {"uri": uri, "digest": environ.get(IMAGE_DIGEST_VARIABLE) or digest_in(uri)}


def image_environment(uri: str | None, digest: str | None = None) -> dict[str, str]:
    """The variables a job's container gets to know its image (empty when the image is unknown)."""
    if not uri:
        return {}
    digest = digest or digest_in(uri)
    return {IMAGE_VARIABLE: uri, **({IMAGE_DIGEST_VARIABLE: digest} if digest else {})}


def describe_image(image: Mapping[str, Any] | None) -> str:
    """``uri (digest)``, or ``local`` for a run outside a container image."""
    image = image or {}
    uri, digest = image.get("uri"), image.get("digest")
    if not uri and not digest:
        return NO_IMAGE
    if uri and digest and digest not in uri:
        return f"{uri} ({digest})"
    return str(uri or digest)


def model_label(model: Mapping[str, Any] | None) -> str | None:
    """``<name>/<version>`` of a registered model version, the form tags carry."""
    if not model or not model.get("name") or model.get("version") in (None, ""):
        return None
    return f"{model['name']}/{model['version']}"


def parse_model_reference(text: str) -> tuple[str, str | None, str | None]:
    """(name, version, alias) of ``<name>/<version>`` or ``<name>@<alias>``."""
    match = _MODEL_REFERENCE.match(text.strip())
    if match is None:
        raise LineageError(f"--model {text!r}: expected <registered name>/<version> (ml_on_aws_credit_data/3) "
                           "or <registered name>@<alias> (ml_on_aws_credit_data@champion).")
    return match["name"], match["version"], match["alias"]


def describe_identity(identity: Mapping[str, Any]) -> str:
    """One line for a data identity: where, and what makes it this data."""
    if "files" in identity:
        files = identity["files"]
        shown = "; ".join(describe_identity(item) for item in files[:3])
        more = identity.get("file_count", len(files)) - min(len(files), 3)
        return f"{identity.get('location')}: {identity.get('file_count', len(files))} file(s): {shown}" + (
            f"; and {more} more" if more > 0 else "")
    parts = [str(identity.get("location"))]
    if identity.get("version_id"):
        parts.append(f"version {identity['version_id']}")
    if identity.get("etag"):
        parts.append(f"ETag {identity['etag']}")
    if identity.get("last_modified"):
        parts.append(f"last modified {identity['last_modified']}")
    if identity.get("sha256"):
        parts.append(f"sha256 {identity['sha256']}")
    if identity.get("modified"):
        parts.append(f"modified {identity['modified']}")
    if identity.get("size") is not None:
        parts.append(f"{identity['size']} bytes")
    return ", ".join(parts)


def mlflow_tags(record: Mapping[str, Any]) -> dict[str, str]:
    """The record in short, as tags of the MLflow run and of the registered model version."""
    tags = {
        TAG_KEDRO_RUN: (record.get("kedro_run") or {}).get("version"),
        TAG_IMAGE: describe_image(record.get("image")),
        TAG_GIT_COMMIT: (record.get("code") or {}).get("commit"),
        **{f"{TAG_INPUT_PREFIX}{name}": describe_identity(identity)
           for name, identity in (record.get("inputs") or {}).items()},
    }
    return {key: str(value)[:_TAG_VALUE_LIMIT] for key, value in tags.items() if value}


def write_record(record: Mapping[str, Any], folder: str | Path) -> Path:
    path = Path(folder) / LINEAGE_FILE
    path.write_text(json.dumps(record, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return path


def read_record(folder: str | Path) -> dict[str, Any] | None:
    """The lineage record of a model directory (its ``lineage.json``), None when it has none."""
    path = Path(folder) / LINEAGE_FILE
    if not path.is_file():
        return None
    return parse_record(path.read_text(encoding="utf-8"), str(path))


def parse_record(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineageError(f"{where} is not a lineage record: not JSON ({exc.msg} at {exc.pos}).") from None
    if not isinstance(record, dict) or "format" not in record:
        raise LineageError(f"{where} is not a lineage record: no 'format' key.")
    return record
