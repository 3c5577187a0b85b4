"""What identifies the data a dataset's load reads, as its storage describes it (fsspec ``info``).

- On S3 (any remote file system): the object's version id when the bucket is versioned, its ETag
  and last-modified time, and its size; nothing is downloaded.
- On the local disk: size, modification time and the SHA-256 of the bytes (read in chunks).
- A folder (a SageMaker channel, capture files): the same for each of its files, the first
  :data:`MAX_FILES` of them in name order, with the count (on S3 from one listing: ETag and
  last-modified, no version ids).

The file and load path come through :mod:`.internals`, so any file-based dataset works, whatever
its class; a dataset without a file (in memory, MLflow) has no identity (None).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from ml_on_aws.datasets import internals

# Files of a folder whose identity is listed (the count is always given).
MAX_FILES = 50
_CHUNK_BYTES = 1 << 20


def data_identity(dataset: Any) -> dict[str, Any] | None:
    """The identity of the file (or the files of the folder) ``dataset`` loads, or None."""
    path = internals.load_path(dataset)
    if path is None:
        return None
    fs = internals.filesystem(dataset)
    local = internals.protocol(dataset) in internals.LOCAL_PROTOCOLS
    if hasattr(fs, "invalidate_cache"):
        fs.invalidate_cache(path)  # s3fs answers info() from its listing cache, without the version id
    info = fs.info(path)
    if info.get("type") != "directory":
        return _file_identity(fs, info, local, internals.protocol(dataset))
    folder = PurePosixPath(str(info["name"]))
    # One listing gives every file's details (on S3 without a request per object, and so
    # without version ids: ETag and last-modified identify them).
    files = {name: details for name, details in sorted(fs.find(path, detail=True).items())
             if not any(part.startswith(".") for part in PurePosixPath(name).relative_to(folder).parts)}
    return {
        "location": internals.location(dataset),
        "file_count": len(files),
        "files": [_file_identity(fs, details, local, internals.protocol(dataset))
                  for details in list(files.values())[:MAX_FILES]],
    }


def _file_identity(fs: Any, info: Mapping[str, Any], local: bool, protocol: str) -> dict[str, Any]:
    name = str(info["name"])
    if local:
        return {"location": name, "size": info.get("size"), "modified": _time(info.get("mtime")),
                "sha256": _sha256(fs, name)}
    return {
        "location": f"{protocol}://{name}",
        "size": info.get("size"),
        "version_id": info.get("VersionId") or None,
        "etag": str(info.get("ETag") or info.get("etag") or "").strip('"') or None,
        "last_modified": _time(info.get("LastModified") or info.get("last_modified") or info.get("mtime")),
    }


def _sha256(fs: Any, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _time(value: Any) -> str | None:
    """ISO-8601 UTC of a datetime or POSIX timestamp (what file systems give), None when absent."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value)
