"""Outputs that others read in place, published when the run commits (see ``ml_on_aws.datasets.runs``).

``PublishOnCommitDataset`` wraps a file dataset on the local disk: during a run it saves to a
hidden sibling (``.<name>.<run version>.staged``) and the run's commit renames that over the
file, in one step. Outside a run (a notebook) a save is renamed into place at once. Loads in
the run that saved read its staged copy; everyone else reads the published file.

``RunManifestsDataset`` is where an environment keeps its run manifests (``run_manifests``).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError


def staged_copies(target: Path) -> dict[str, Path]:
    """{run version: staged copy} of ``target`` left on disk by runs (committed ones are moved away)."""
    from ml_on_aws.datasets.runs import staged_name

    prefix, suffix = staged_name(target.name, ""), ".staged"
    prefix = prefix[: -len(suffix)]
    if not target.parent.is_dir():
        return {}
    return {p.name[len(prefix):-len(suffix)]: p for p in target.parent.iterdir()
            if p.name.startswith(prefix) and p.name.endswith(suffix)}


def remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)


class PublishOnCommitDataset(AbstractDataset[Any, Any]):
    """A local file dataset (``dataset``: its catalog entry) replaced in one rename at commit."""

    def __init__(self, dataset: dict[str, Any] | str, metadata: dict[str, Any] | None = None) -> None:
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        filepath = str(config.get("filepath", ""))
        if not filepath or ("://" in filepath and not filepath.startswith("file://")):
            raise DatasetError(f"{type(self).__name__} publishes local files only (got filepath '{filepath}'); "
                               "on S3 make the dataset versioned instead: versions are committed by run manifests.")
        self._config = config
        self._filepath = Path(filepath.removeprefix("file://"))
        self.metadata = metadata

    def _at(self, path: Path) -> AbstractDataset:
        return AbstractDataset.from_config(self._filepath.name, {**self._config, "filepath": str(path)})

    def _own_staged(self) -> Path | None:
        from ml_on_aws.datasets import runs

        run = runs.active_run()
        if run is None:
            return None
        staged = self._filepath.with_name(runs.staged_name(self._filepath.name, run.version))
        return staged if staged.exists() else None

    def load(self) -> Any:
        return self._at(self._own_staged() or self._filepath).load()

    def save(self, data: Any) -> None:
        from ml_on_aws.datasets import runs

        run = runs.active_run()
        version = run.version if run is not None else f"direct-{uuid.uuid4().hex[:12]}"
        staged = self._filepath.with_name(runs.staged_name(self._filepath.name, version))
        if staged.exists():
            remove(staged)
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._at(staged).save(data)
        action = {"kind": "move", "source": str(staged), "target": str(self._filepath)}
        if not runs.defer(action):
            runs.perform(action)

    def staged_copies(self) -> dict[str, Path]:
        return staged_copies(self._filepath)

    def _exists(self) -> bool:
        return self._at(self._own_staged() or self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(PurePosixPath(self._filepath)), "type": self._config.get("type"), "published": "on commit"}


class RunManifestsDataset(AbstractDataset[None, list[dict[str, Any]]]):
    """The committed runs of an environment (read-only: the run commit writes them)."""

    def __init__(self, filepath: str, fs_args: dict[str, Any] | None = None,
                 credentials: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> None:
        from ml_on_aws.datasets.runs import RunStore

        self.store = RunStore(filepath, fs_args=fs_args, credentials=credentials)
        self._filepath = filepath
        self.metadata = metadata

    def load(self) -> list[dict[str, Any]]:
        return [self.store.read("committed", version) for version in sorted(self.store.committed_versions() or [])]

    def save(self, data: Any) -> None:
        raise DatasetError("run_manifests is written by the run commit (ml_on_aws.datasets.runs), not by nodes.")

    def _exists(self) -> bool:
        return self.store.initialized()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self.store.location}
