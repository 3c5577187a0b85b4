"""The one place that reads or changes private attributes of Kedro datasets.

Kedro's datasets expose no public way to ask where a file-based dataset stores its data, with which
file system and load arguments, to list a versioned dataset's version folders, to choose which
versions a load may resolve to, or to add a load argument (how to treat undecodable text). The
run commit (``ml_on_aws.datasets.runs``), the checks before a run, MLflow tracking and data upload
need these; they are here, behind plain functions, so that a Kedro or kedro-datasets upgrade that
renames an attribute breaks one module.

Public API first: ``_describe()`` (the description every dataset gives for its ``repr``; its
``filepath``, ``protocol``, ``load_args`` and ``version`` keys in kedro-datasets), ``exists()``,
``resolve_load_version()`` and ``kedro.io.core.get_filepath_str``. A dataset is "file-based" by
behaviour, whatever its class: it has a ``filepath`` and an fsspec file system. Its file's format
is read from the file itself (Parquet's magic bytes), not from the dataset's class name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import IO, Any

from kedro.io import AbstractVersionedDataset
from kedro.io.core import get_filepath_str, get_protocol_and_path

LOCAL_PROTOCOLS = ("file", "", None)
# Load arguments that say how to read a delimited text file's header and values.
_TEXT_ARGS = ("sep", "delimiter", "encoding", "encoding_errors", "header", "na_values", "keep_default_na", "decimal",
              "thousands")
_PARQUET_MAGIC = b"PAR1"

# Set on a dataset whose version listing is restricted: the unrestricted glob function.
_ORIGINAL_GLOB = "_ml_on_aws_all_versions_glob"


def is_versioned(dataset: Any) -> bool:
    """A dataset with Kedro versioning switched on (``versioned: true``)."""
    return isinstance(dataset, AbstractVersionedDataset) and bool(getattr(dataset, "_version", None))


def save_version(dataset: Any) -> str | None:
    """The version a versioned dataset saves as (the run's, for every dataset of one run)."""
    return dataset.resolve_save_version() if is_versioned(dataset) else None


def _description(dataset: Any) -> dict[str, Any]:
    try:
        return dict(dataset._describe() or {})
    except Exception:  # noqa: BLE001 - a dataset that cannot describe itself has no known location
        return {}


def filepath(dataset: Any) -> str | None:
    """The dataset's path without protocol (``bucket/key`` on S3), or None when it has none."""
    path = _description(dataset).get("filepath", getattr(dataset, "_filepath", None))
    return None if path is None else str(path)


def protocol(dataset: Any) -> str:
    """``file`` for a local dataset, else its fsspec protocol (``s3``...)."""
    described = _description(dataset).get("protocol", getattr(dataset, "_protocol", None))
    if described is None and (path := filepath(dataset)) is not None:
        described = get_protocol_and_path(path)[0]
    return described or "file"


def is_remote(dataset: Any) -> bool:
    """A file-based dataset whose data is not on the local disk."""
    return filepath(dataset) is not None and protocol(dataset) not in LOCAL_PROTOCOLS


def location(dataset: Any) -> str:
    """The dataset's path with its protocol (``s3://...``) or a local path; '' when it has none."""
    path = filepath(dataset)
    if path is None:
        return ""
    return path if protocol(dataset) in LOCAL_PROTOCOLS else f"{protocol(dataset)}://{path}"


def describe_location(dataset: Any) -> str:
    """Where the dataset is, for messages: its location, else its type (a memory dataset...)."""
    return location(dataset) or type(dataset).__name__


def load_version(dataset: Any) -> str:
    """The Kedro version a load reads: ``unversioned``, the resolved version, or ``latest``."""
    if not is_versioned(dataset):
        return "unversioned"
    return dataset.resolve_load_version() or "latest"


def load_args(dataset: Any) -> dict[str, Any]:
    return dict(_description(dataset).get("load_args") or getattr(dataset, "_load_args", None) or {})


def set_default_load_arg(dataset: Any, key: str, value: Any) -> None:
    """Give the dataset's loads ``key=value`` unless its catalog entry sets ``key`` (``load_args``).

    kedro-datasets passes a dataset's load arguments to the pandas reader on every load and
    offers no public way to add one after the catalog made the dataset.
    """
    current = getattr(dataset, "_load_args", None)
    if current is None:
        current = dataset._load_args = {}
    current.setdefault(key, value)


def text_read_args(dataset: Any) -> dict[str, Any]:
    """The load arguments that say how to read the file as delimited text (separator, encoding...)."""
    return {key: value for key, value in load_args(dataset).items() if key in _TEXT_ARGS}


def load_path(dataset: Any) -> str | None:
    """The path (without protocol) of the file a load reads: for a versioned dataset, the resolved version."""
    if filepath(dataset) is None:
        return None
    path = dataset._get_load_path() if is_versioned(dataset) else PurePosixPath(filepath(dataset))
    return get_filepath_str(PurePosixPath(path), protocol(dataset))


def is_file_based(dataset: Any) -> bool:
    """A dataset with a path and an fsspec file system: its file can be opened without loading it."""
    return filepath(dataset) is not None and hasattr(getattr(dataset, "_fs", None), "open")


def open_file(dataset: Any) -> IO[bytes]:
    """The file a load reads, opened for binary reading (FileNotFoundError when there is none)."""
    if not is_file_based(dataset):
        raise TypeError(f"{type(dataset).__name__} has no file to open")
    return filesystem(dataset).open(load_path(dataset), mode="rb")


def is_parquet(stream: IO[bytes]) -> bool:
    """Whether the open file is Parquet (its first bytes), leaving the stream at its start."""
    head = stream.read(len(_PARQUET_MAGIC))
    stream.seek(0)
    return head == _PARQUET_MAGIC


def put_file(dataset: Any, local_path: str) -> None:
    """Copy a local file to where the (unversioned) dataset stores its data."""
    filesystem(dataset).put_file(local_path, get_filepath_str(PurePosixPath(filepath(dataset)), protocol(dataset)))


def filesystem(dataset: Any) -> Any:
    """The fsspec file system of a file-based dataset: its own, else the one of its protocol
    (a dataset with a path but no file system object, such as ``TableFilesDataset``)."""
    fs = getattr(dataset, "_fs", None)
    if fs is None:
        import fsspec

        fs = fsspec.filesystem(protocol(dataset))
    return fs


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
