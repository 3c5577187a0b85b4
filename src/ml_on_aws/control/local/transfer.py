"""A local job's data between S3 and the host folders its containers mount, through the S3 API:
inputs listed and split across instances by key as SageMaker splits them, a model.tar.gz
unpacked, ``/opt/ml/model`` packed as model.tar.gz, output folders uploaded."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ml_on_aws.control.local import Echo
from ml_on_aws.core.archives import extract_tar


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def list_objects(s3: Any, uri: str) -> list[tuple[str, str]]:
    """``(key, path relative to the prefix's folder)`` of every object under the S3 prefix
    ``uri``, sorted by key as SageMaker orders them. ``s3://b/data/part`` matches
    ``data/part-1.csv`` and ``data/part/x.csv``; both are placed relative to ``data/``."""
    bucket, prefix = split_s3_uri(uri)
    folder = prefix[: prefix.rfind("/") + 1]
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                found.append((item["Key"], item["Key"][len(folder):]))
    return sorted(found)


def shard(objects: list[Any], instance: int, instance_count: int, distribution: str) -> list[Any]:
    """The objects instance ``instance`` (0-based) receives: all of them (``FullyReplicated``)
    or every ``instance_count``-th one (``ShardedByS3Key``, as SageMaker splits by key)."""
    if distribution == "ShardedByS3Key":
        return objects[instance::instance_count]
    return list(objects)


def download(s3: Any, uri: str, distribution: str, instance: int, count: int, target: Path) -> None:
    """Instance ``instance``'s share of the objects under ``uri``, into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    bucket, _ = split_s3_uri(uri)
    objects = shard(list_objects(s3, uri), instance, count, distribution)
    for key, relative in objects:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(destination))
    readable(target)


def download_model(s3: Any, uri: str, target: Path) -> None:
    """The model.tar.gz at ``uri``, extracted into ``target``."""
    bucket, key = split_s3_uri(uri)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "model.tar.gz"
        s3.download_file(bucket, key, str(archive))
        extract_tar(archive, target)
    readable(target)


def upload_tar(s3: Any, folder: Path | list[Path], uri: str) -> None:
    """The contents of ``folder`` (or of several, merged: every instance's, as SageMaker
    aggregates them) as one ``.tar.gz`` at ``uri``."""
    bucket, key = split_s3_uri(uri)
    folders = folder if isinstance(folder, list) else [folder]
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "archive.tar.gz"
        added: set[str] = set()
        with tarfile.open(archive, "w:gz") as tar:
            for root in folders:
                for path in sorted(root.rglob("*")):
                    name = str(path.relative_to(root))
                    if name not in added:
                        added.add(name)
                        tar.add(path, arcname=name, recursive=False)
        s3.upload_file(str(archive), bucket, key)


def upload_folder(s3: Any, folder: Path, uri: str, echo: Echo) -> None:
    """Every file under ``folder`` to the same relative key under the prefix ``uri``."""
    bucket, prefix = split_s3_uri(uri)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix.rstrip('/')}/{path.relative_to(folder).as_posix()}".lstrip("/")
        s3.upload_file(str(path), bucket, key)
        echo(f"Uploaded s3://{bucket}/{key}")


def readable(folder: Path) -> None:
    """The container may run as another user than this process: let it read what was downloaded."""
    for path in (folder, *folder.rglob("*")):
        path.chmod(path.stat().st_mode | (0o755 if path.is_dir() else 0o644))
