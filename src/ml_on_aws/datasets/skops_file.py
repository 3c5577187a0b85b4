"""A scikit-learn object (e.g. the unfitted feature pipeline) in one skops file, locally or on S3.

Pickle files run code when they are read; a skops file is rebuilt only from types that are
trusted (``ml_on_aws.core.mlflow_models.trusted_modules``), so no pickle is read from disk or S3.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from kedro.io.core import get_filepath_str

from ml_on_aws.datasets.file_system import FileSystemDataset


class SkopsDataset(FileSystemDataset):
    """``type: ml_on_aws.datasets.SkopsDataset``: one skops file at ``filepath``."""

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
