"""One table from a file or from every CSV/Parquet file under a folder (a SageMaker channel).

SageMaker copies an S3 prefix into a local folder: one file, several parts of one table
(``part-0000.csv``, ...), sometimes in sub-folders. This dataset reads them all as one table,
and names the file when one cannot be read or does not have the columns of the first.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


class TableFilesDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """Load a CSV/Parquet file, or all of them under a folder concatenated in name order.

    Args:
        path: a file or a folder.
        load_args: passed to ``pandas.read_csv`` for CSV files (``sep``, ``encoding``, ...).
        save_args: passed to ``DataFrame.to_parquet`` by ``save``, which writes one
            ``part-0000.parquet`` into the folder.
    """

    def __init__(self, path: str, load_args: dict[str, Any] | None = None,
                 save_args: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(path)
        self._load_args = dict(load_args or {})
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def files(self) -> list[Path]:
        """The table's files; raises ``DatasetError`` naming the folder when there are none."""
        root = self._filepath
        if root.is_file():
            if _kind(root) is None:
                raise DatasetError(f"{root} is neither CSV ({', '.join(CSV_SUFFIXES)}) nor Parquet ({', '.join(PARQUET_SUFFIXES)}).")
            return [root]
        if not root.is_dir():
            raise DatasetError(f"No file or folder at {root}.")
        candidates = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        tables = [p for p in candidates if _kind(p) is not None]
        others = [p for p in candidates if _kind(p) is None]
        if not tables:
            found = f" (found only: {', '.join(p.name for p in others[:5])})" if others else ""
            raise DatasetError(f"No CSV or Parquet file in {root}{found}.")
        if len({_kind(p) for p in tables}) > 1:
            raise DatasetError(f"{root} mixes CSV and Parquet files; put one table in one format per folder.")
        return tables

    def read_columns(self) -> list[str]:
        """Column names of the first file, without reading its rows."""
        first = self.files()[0]
        if _kind(first) == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(first).names)
        return list(self._read(first, nrows=0).columns)

    def _read(self, path: Path, **extra: Any) -> pd.DataFrame:
        try:
            if _kind(path) == "parquet":
                return pd.read_parquet(path)
            return pd.read_csv(path, **{**self._load_args, **extra})
        except pd.errors.EmptyDataError:
            raise DatasetError(f"{path} is empty: no header, no rows.") from None
        except UnicodeDecodeError as exc:
            encoding = self._load_args.get("encoding", "utf-8")
            raise DatasetError(f"{path} is not valid {encoding} ({exc.reason}); save it as UTF-8 "
                               "or set `load_args: {encoding: ...}` in the catalog.") from None
        except (pd.errors.ParserError, OSError, ValueError) as exc:
            raise DatasetError(f"{path} could not be read as {_kind(path).upper()}: {exc}") from None

    def load(self) -> pd.DataFrame:
        files = self.files()
        frames = [self._read(files[0])]
        expected = list(frames[0].columns)
        for path in files[1:]:
            frame = self._read(path)
            if list(frame.columns) != expected:
                missing = sorted(set(expected) - set(frame.columns))
                extra = sorted(set(frame.columns) - set(expected))
                raise DatasetError(
                    f"{path} does not have the columns of {files[0]} (missing: {missing or 'none'}, "
                    f"extra: {extra or 'none'}{', other order' if not missing and not extra else ''})."
                )
            frames.append(frame)
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def save(self, data: pd.DataFrame) -> None:
        self._filepath.mkdir(parents=True, exist_ok=True)
        data.to_parquet(self._filepath / "part-0000.parquet", **self._save_args)

    def _exists(self) -> bool:
        try:
            return bool(self.files())
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"path": str(PurePosixPath(self._filepath))}
