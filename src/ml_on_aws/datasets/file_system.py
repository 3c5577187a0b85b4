"""The base of the project's file datasets: a versioned dataset on any fsspec file system
(local disk, S3), built from the arguments kedro-datasets' file datasets take."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset, Version
from kedro.io.core import get_protocol_and_path


class FileSystemDataset(AbstractVersionedDataset[Any, Any]):
    """A versioned dataset on any fsspec file system, taking the arguments kedro-datasets' file
    datasets take: ``filepath``, ``versioned``, ``credentials``, ``fs_args`` and ``metadata``."""

    def __init__(self, filepath: str, version: Version | None = None, credentials: dict[str, Any] | None = None,
                 fs_args: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> None:
        import fsspec

        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **dict(credentials or {}), **dict(fs_args or {}))
        self.metadata = metadata
        super().__init__(filepath=PurePosixPath(path), version=version,
                         exists_function=self._fs.exists, glob_function=self._fs.glob)
