"""Every JSON Lines file under a folder, on the local disk or S3: an endpoint's data capture.

SageMaker writes capture files to ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``
(:mod:`ml_on_aws.core.data_capture`). The dataset reads all of them under its folder, whatever
the endpoint, variant and hour, as one table of lines; the monitoring pipeline parses the lines
and keeps those of its time window, so a line that is not a capture record is counted there,
not fatal here.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset
from kedro.io.core import DatasetError, get_protocol_and_path

SUFFIX = ".jsonl"
COLUMNS = ("file", "line", "text")


class CaptureFilesDataset(AbstractDataset[None, pd.DataFrame]):
    """Read-only: the lines of every ``*.jsonl`` file under ``path`` (sub-folders included), as a
    table with ``file`` (the path below ``path``), ``line`` (1-based) and ``text``, files in name
    order (SageMaker's folders and file names sort by time). Blank lines are left out.

    Args:
        path: a local folder or ``s3://bucket/prefix`` (any fsspec URL).
        credentials, fs_args: passed to the fsspec file system, as for kedro-datasets' datasets.
    """

    def __init__(self, path: str, credentials: dict[str, Any] | None = None, fs_args: dict[str, Any] | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        import fsspec

        protocol, root = get_protocol_and_path(path)
        self._protocol = protocol
        self._filepath = PurePosixPath(root)
        self._fs = fsspec.filesystem(protocol, **dict(credentials or {}), **dict(fs_args or {}))
        self.metadata = metadata

    @property
    def location(self) -> str:
        return str(self._filepath) if self._protocol == "file" else f"{self._protocol}://{self._filepath}"

    def files(self) -> list[str]:
        """The capture files (protocol-less paths), in name order; none when the folder is missing."""
        if hasattr(self._fs, "invalidate_cache"):
            self._fs.invalidate_cache()  # s3fs lists from a cache that may predate new captures
        try:
            found = self._fs.find(str(self._filepath))
        except FileNotFoundError:
            return []
        return sorted(path for path in found if path.endswith(SUFFIX) and not PurePosixPath(path).name.startswith("."))

    def load(self) -> pd.DataFrame:
        files = self.files()
        if not files:
            raise DatasetError(
                f"No capture files (*{SUFFIX}) under {self.location}. SageMaker writes them there when the "
                "endpoint's data capture is on (conf/<env>/sagemaker.yml endpoint.data_capture); or point "
                "`captured_data` in the catalog at the folder that holds them."
            )
        rows = []
        root = str(self._filepath).rstrip("/") + "/"
        for path in files:
            try:
                with self._fs.open(path, mode="rb") as stream:
                    content = stream.read().decode("utf-8", errors="replace")
            except OSError as exc:
                raise DatasetError(f"Capture file {path} could not be read: {exc}") from exc
            name = path.removeprefix(root)
            rows += [(name, number, text) for number, text in enumerate(content.splitlines(), start=1) if text.strip()]
        return pd.DataFrame(rows, columns=list(COLUMNS)).astype({"line": "int64"})

    def save(self, data: None) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only: SageMaker writes the capture files.")

    def _exists(self) -> bool:
        return bool(self.files())

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "protocol": self._protocol}
