"""The model a scoring job (batch transform, endpoint) gets when sagemaker.yml names none:
the newest ``model.tar.gz`` a training job wrote. Shared by the launcher and the Lambda handlers."""

from __future__ import annotations

from typing import Any

from ml_on_aws.core.config import ConfigurationError


def newest_model(s3: Any, output_s3_uri: str) -> str:
    """The newest ``model.tar.gz`` a training job wrote under ``output_s3_uri``."""
    bucket, _, prefix = output_s3_uri.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    newest: dict[str, Any] | None = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/output/model.tar.gz") and (
                newest is None or item["LastModified"] > newest["LastModified"]
            ):
                newest = item
    if newest is None:
        raise ConfigurationError(
            f"model.s3_uri: not set, and no trained model.tar.gz under training.output_s3_uri "
            f"({output_s3_uri}); run `kedro sagemaker train` first."
        )
    return f"s3://{bucket}/{newest['Key']}"
