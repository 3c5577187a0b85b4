"""The one place that reads or changes private attributes of Kedro datasets.

Kedro's versioned datasets (``AbstractVersionedDataset``) expose no public way to list their
version folders with their file system, or to choose which versions a load may resolve to.
The run commit (``ml_on_aws.datasets.runs``) needs both; what it needs is here, behind plain functions,
so that a Kedro or kedro-datasets upgrade that renames an attribute breaks one module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset

# Set on a dataset whose version listing is restricted: the unrestricted glob function.
_ORIGINAL_GLOB = "_ml_on_aws_all_versions_glob"


def is_versioned(dataset: Any) -> bool:
    """A dataset with Kedro versioning switched on (``versioned: true``)."""
    return isinstance(dataset, AbstractVersionedDataset) and bool(getattr(dataset, "_version", None))


def save_version(dataset: Any) -> str | None:
    """The version a versioned dataset saves as (the run's, for every dataset of one run)."""
    return dataset.resolve_save_version() if is_versioned(dataset) else None


def location(dataset: Any) -> str:
    """The dataset's path with its protocol (``s3://...``) or a local path; '' when it has none."""
    path = getattr(dataset, "_filepath", None)
    if path is None:
        return ""
    protocol = getattr(dataset, "_protocol", "file")
    return str(path) if protocol in ("file", None) else f"{protocol}://{path}"


def filesystem(dataset: Any) -> Any:
    """The fsspec file system of a file-based kedro-datasets dataset."""
    return dataset._fs


def version_folder(dataset: Any, version: str) -> str:
    """``<filepath>/<version>``: the folder holding one version (protocol-less, as fsspec lists it)."""
    return str(PurePosixPath(dataset._get_versioned_path(version)).parent)


def all_versions(dataset: Any) -> list[str]:
    """Every version folder on storage, committed or not, newest first."""
    glob = getattr(dataset, _ORIGINAL_GLOB, None) or dataset._glob_function
    fs = getattr(dataset, "_fs", None)
    if fs is not None and hasattr(fs, "invalidate_cache"):
        fs.invalidate_cache()  # s3fs lists from a cache that may predate other processes' saves
    try:
        paths = glob(str(dataset._get_versioned_path("*")))
    except FileNotFoundError:
        return []
    return sorted({PurePosixPath(path).parent.name for path in paths}, reverse=True)


def restrict_load_versions(dataset: Any, allowed: Callable[[str], bool]) -> None:
    """Make an unpinned load resolve to the newest version for which ``allowed(version)`` holds.

    Kedro resolves the load version by globbing ``<filepath>/*/<name>`` and taking the newest
    match; the glob is wrapped to drop the versions that are not allowed. An explicit load
    version (``--load-versions``, ``catalog.load(name, version=...)``) is not globbed and
    still loads any version.
    """
    if not is_versioned(dataset):
        return
    original = getattr(dataset, _ORIGINAL_GLOB, None) or dataset._glob_function

    def glob(pattern: str) -> list[str]:
        fs = getattr(dataset, "_fs", None)
        if fs is not None and hasattr(fs, "invalidate_cache"):
            fs.invalidate_cache()
        return [path for path in original(pattern) if allowed(PurePosixPath(path).parent.name)]

    setattr(dataset, _ORIGINAL_GLOB, original)
    dataset._glob_function = glob
    dataset._clear_version_cache()
