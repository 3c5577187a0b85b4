"""A scikit-learn object (e.g. the unfitted feature pipeline) in one skops file, locally or on S3.

Pickle files run code when they are read; a skops file is rebuilt only from types that are
trusted (``ml_on_aws.core.mlflow_models.trusted_modules``), so no pickle is read from disk or S3.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset, Version
from kedro.io.core import get_filepath_str, get_protocol_and_path


class SkopsDataset(AbstractVersionedDataset[Any, Any]):
    """``type: ml_on_aws.datasets.SkopsDataset`` with ``filepath`` (any fsspec protocol) and, like
    kedro-datasets' file datasets, ``versioned``, ``credentials``, ``fs_args`` and ``metadata``."""

    def __init__(self, filepath: str, version: Version | None = None, credentials: dict[str, Any] | None = None,
                 fs_args: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> None:
        import fsspec

        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **dict(credentials or {}), **dict(fs_args or {}))
        self.metadata = metadata
        super().__init__(filepath=PurePosixPath(path), version=version,
                         exists_function=self._fs.exists, glob_function=self._fs.glob)

    def load(self) -> Any:
        from ml_on_aws.core.mlflow_models import load_skops_bytes

        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(load_path, "rb") as stream:
            return load_skops_bytes(stream.read(), f"Skops file {load_path}")

    def save(self, data: Any) -> None:
        import skops.io

        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        self._fs.mkdirs(str(PurePosixPath(save_path).parent), exist_ok=True)
        with self._fs.open(save_path, "wb") as stream:
            stream.write(skops.io.dumps(data))
        self._invalidate_cache()

    def _exists(self) -> bool:
        return self._fs.exists(get_filepath_str(self._get_load_path(), self._protocol))

    def _invalidate_cache(self) -> None:
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "protocol": self._protocol, "version": self._version, "format": "skops"}
