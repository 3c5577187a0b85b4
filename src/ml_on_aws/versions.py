"""Keep the last good run's versions the newest: set aside what a failed run saved.

Kedro loads the newest version folder of a versioned dataset. A run that fails after saving
some outputs (a model, say, before its evaluation failed) would leave them as the newest, and
the next load would silently pick an unevaluated model. The failed run's version folders are
moved beside the dataset, to ``<filepath>.failed/<version>/``, where they can still be read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

FAILED_SUFFIX = ".failed"


def failed_version_folder(dataset: Any, version: str) -> str:
    """Where the version ``version`` of ``dataset`` goes when its run failed."""
    return f"{dataset._filepath}{FAILED_SUFFIX}/{version}"


def set_aside_versions(catalog: Any, names: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """Move the save-version folder of each named versioned dataset out of its version list.

    Returns (the moves done, {dataset name: why it could not be moved}). Best effort:
    storage that failed the run (an S3 endpoint gone) may refuse the move as well.
    """
    moved: list[str] = []
    kept: dict[str, str] = {}
    for name in dict.fromkeys(names):
        dataset = catalog.get(name)
        version = getattr(dataset, "_version", None) and dataset.resolve_save_version()
        if not version:
            continue
        folder = str(dataset._get_versioned_path(version).parent)
        target = failed_version_folder(dataset, version)
        try:
            dataset._fs.invalidate_cache()  # s3fs lists from a cache that may predate the run's saves
            if not dataset._fs.exists(folder):
                continue
            _move_folder(dataset._fs, folder, target)
            moved.append(f"'{name}' -> {_shown(dataset, target)}")
        except Exception as exc:  # noqa: BLE001 - reported, the run's own error matters more
            kept[name] = f"{_shown(dataset, folder)}: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            logger.debug("Cannot move %s to %s", folder, target, exc_info=True)
    return moved, kept


def _move_folder(fs: Any, folder: str, target: str) -> None:
    """Move every file of ``folder`` under ``target``, file by file: s3fs's recursive ``mv``
    also copies the folder's own key, which S3 does not have."""
    for path in fs.find(folder):
        fs.mv(path, target + path[len(folder):])
    if fs.exists(folder):  # a local folder stays behind, empty
        fs.rm(folder, recursive=True)


def _shown(dataset: Any, path: str) -> str:
    protocol = getattr(dataset, "_protocol", "file")
    return path if protocol in ("file", None) else f"{protocol}://{path}"
