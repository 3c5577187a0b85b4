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


def model_lineage(s3: Any, model_data_url: str) -> dict[str, Any] | None:
    """The lineage record (``lineage.json``) inside the ``model.tar.gz`` at ``model_data_url``,
    None when the model has none (trained before lineage was recorded).

    The archive is read as a stream and left at the record: SageMaker packs /opt/ml/model, so
    the record is at the archive's root (or one folder down, as ``find_model_directory`` allows).
    """
    import tarfile
    from pathlib import PurePosixPath

    from ml_on_aws.core.lineage import LINEAGE_FILE, parse_record

    bucket, _, key = model_data_url.removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        with tarfile.open(fileobj=body, mode="r|gz") as archive:
            for member in archive:
                parts = [part for part in PurePosixPath(member.name).parts if part != "."]
                if (member.isfile() and parts and parts[-1] == LINEAGE_FILE and len(parts) <= 2
                        and not parts[0].startswith(".")):  # a hidden folder is a copy being made
                    stream = archive.extractfile(member)
                    return parse_record(stream.read(), f"{model_data_url} ({member.name})") if stream else None
    finally:
        body.close()
    return None
