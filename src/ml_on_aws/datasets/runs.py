"""A run becomes current only when it completes: run manifests, the commit, and the project lock.

Every dataset a ``kedro run`` saves with Kedro versioning gets the run's save version (one
timestamp per run). A version is **committed** when the run's manifest exists::

    <runs root>/committed/<save version>.json    written last, in one step (os.replace; one PUT on S3)

and an unpinned versioned load resolves to the newest committed version (or to the running
run's own, for what it saved itself): a run that fails or is killed leaves versions that no
later load picks, on local disk and on S3 alike. They stay readable (``--load-versions``) until
``kedro runs clean`` removes them.

Outputs that others read in place are written to a hidden sibling while the run goes on and
published once the manifest is written, each in one rename: a file (``predictions.csv``) is
renamed over its name; a folder (the MLflow model directory) gets a hidden versioned name and
the symlink readers open is replaced by a new one pointing at it. The registry's ``champion``
alias moves then too. The manifest lists these publish actions, and a run that is stopped
between the manifest and the last of them is completed by the next run, ``kedro runs clean``
or ``kedro serve``: the manifest is the commit point, the rest rolls forward.

Concurrent runs: where the runs root is on the local disk, a run holds ``<runs root>/.lock``
(an ``flock``: the kernel releases it when the process dies, even by SIGKILL) and a second run
stops at once, naming the holder. On S3 there is no lock: every output of ``--env aws`` is
versioned, each run loads its own versions or committed ones, so concurrent runs commit
distinct runs; the newest committed version of each dataset is current.

``ML_ON_AWS_TEST_KILL_AT`` is a test aid only: a process whose environment names a kill point
(``after_node:<node>``, ``before_node:<node>``, ``mlflow_model_written``, ``committed``,
``folder_link_made``)
sends itself SIGKILL there. tests/test_run_commits.py uses it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from kedro.framework.hooks import hook_impl

from ml_on_aws.core.git import git_revision
from ml_on_aws.datasets import internals
from ml_on_aws.datasets.published import remove

logger = logging.getLogger(__name__)

KILL_ENV = "ML_ON_AWS_TEST_KILL_AT"
# The catalog entry that says where the manifests of an environment live.
MANIFESTS_DATASET = "run_manifests"
FORMAT = 1
_VERSION_FORMAT = "%Y-%m-%dT%H.%M.%S.%fZ"


def kill_point(name: str) -> None:
    """Test aid: SIGKILL this process when ``ML_ON_AWS_TEST_KILL_AT`` names ``name``."""
    if os.environ.get(KILL_ENV) == name:
        logger.warning("%s=%s: killing this process (test aid).", KILL_ENV, name)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)


class RunCommitError(click.ClickException):
    """A run cannot start or commit; the message names the file or lock and what to do."""

    exit_code = 2


def version_time(version: str) -> datetime | None:
    """The UTC time a Kedro save version (``2026-01-02T03.04.05.678Z``) names, or None."""
    try:
        return datetime.strptime(version, _VERSION_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---- where manifests live -------------------------------------------------------------------

class RunStore:
    """The manifests of one environment: ``committed/``, ``started/``, ``format.json``, ``.lock``."""

    def __init__(self, filepath: str, fs_args: dict[str, Any] | None = None,
                 credentials: dict[str, Any] | None = None) -> None:
        import fsspec
        from kedro.io.core import get_protocol_and_path

        self.location = str(filepath).rstrip("/")
        self._protocol, path = get_protocol_and_path(self.location)
        self.local = self._protocol in ("file", "")
        self._root = path.rstrip("/")
        self._fs = fsspec.filesystem(self._protocol or "file", **(credentials or {}), **(fs_args or {}))
        self._initialized = False

    def __repr__(self) -> str:
        return f"RunStore({self.location!r})"

    def shown(self, *parts: str) -> str:
        return "/".join([self.location, *(part for part in parts if part)])

    def _path(self, *parts: str) -> str:
        return "/".join([self._root, *(part for part in parts if part)])

    # -- reading
    def initialized(self) -> bool:
        if not self._initialized:
            self._refresh()
            self._initialized = self._fs.exists(self._path("format.json"))
        return self._initialized

    def _refresh(self) -> None:
        if not self.local:
            self._fs.invalidate_cache(self._root)

    def _names(self, folder: str) -> list[str]:
        self._refresh()
        try:
            entries = self._fs.ls(self._path(folder), detail=False)
        except FileNotFoundError:
            return []
        names = [str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in entries]
        return sorted(n[: -len(".json")] for n in names if n.endswith(".json") and not n.startswith("."))

    def committed_versions(self) -> set[str] | None:
        """The committed runs' versions; None before the store is set up (then nothing is hidden)."""
        if not self.initialized():
            return None
        return set(self._names("committed"))

    def started_versions(self) -> list[str]:
        return self._names("started")

    def read(self, folder: str, version: str) -> dict[str, Any]:
        try:
            return json.loads(self._fs.cat_file(self._path(folder, f"{version}.json")))
        except (FileNotFoundError, json.JSONDecodeError) as exc:
            return {"run": version, "unreadable": f"{type(exc).__name__}: {exc}"}

    # -- writing
    def write(self, folder: str, version: str, record: dict[str, Any]) -> None:
        """Write ``<folder>/<version>.json`` all at once: a reader sees the whole file or none."""
        data = json.dumps(record, indent=2, default=str).encode()
        if not self.local:
            self._fs.pipe_file(self._path(folder, f"{version}.json"), data)  # one PUT: atomic on S3
            return
        folder_path = Path(self._path(folder))
        folder_path.mkdir(parents=True, exist_ok=True)
        temporary = folder_path / f".{version}.json.{os.getpid()}.tmp"
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, folder_path / f"{version}.json")
        _fsync_folder(folder_path)

    def remove(self, folder: str, version: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(self._path(folder, f"{version}.json"))

    def initialize(self, adopted: list[str]) -> None:
        """Set the store up; versions saved before it existed (``adopted``) count as committed."""
        for version in adopted:
            self.write("committed", version, {"format": FORMAT, "run": version, "adopted": True,
                                               "note": "saved before run manifests existed; taken as committed"})
        self.write("", "format", {"format": FORMAT, "created": _now(), "adopted": adopted})
        self._initialized = True

    # -- the lock (local stores only)
    @property
    def lock_file(self) -> Path:
        return Path(self._path(".lock"))


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


class ProjectLock:
    """An exclusive ``flock`` on ``<runs root>/.lock``; the file says who holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: int | None = None

    def acquire(self, holder: dict[str, Any]) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise RunCommitError(self.held_message()) from None
        os.ftruncate(handle, 0)
        os.write(handle, json.dumps(holder).encode())
        self._handle = handle

    def held_message(self) -> str:
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, json.JSONDecodeError):
            holder = {}
        who = (f"run {holder.get('run', '?')}, pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
               f"started {holder.get('started', '?')}: `{holder.get('command', '?')}`")
        return (f"Another run of this project holds the lock {self.path} ({who}). Wait for it to end or stop it; "
                "the lock is released when that process exits, even when it is killed. Runs that should not "
                "wait for each other need separate project folders.")

    def is_held(self) -> bool:
        import fcntl

        if not self.path.exists():
            return False
        handle = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(handle)
        return False

    def release(self) -> None:
        if self._handle is not None:
            os.close(self._handle)  # closing the descriptor releases the flock
            self._handle = None


# ---- the running run -------------------------------------------------------------------------

@dataclass
class ActiveRun:
    """What the run in this process has saved, read, and will publish when it commits."""

    version: str
    store: RunStore
    saved: dict[str, str] = field(default_factory=dict)
    read: dict[str, str] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    last_committed: str | None = None  # when it started: named if it fails (storage may be gone by then)


_active: ActiveRun | None = None
_lock: ProjectLock | None = None


def active_run() -> ActiveRun | None:
    return _active


def defer(action: dict[str, Any]) -> bool:
    """Do ``action`` when the running run commits; False when no run is running (do it now)."""
    if _active is None:
        return False
    _active.actions.append(action)
    return True


def staged_name(name: str, version: str) -> str:
    """The hidden sibling a run writes ``name`` to before it is moved into place."""
    return f".{name}.{version}.staged"


def published_name(name: str, version: str) -> str:
    """The hidden sibling a published folder lives in; ``name`` itself is a symlink to it."""
    return f".{name}.{version}"


def perform(action: dict[str, Any]) -> str:
    """Carry out one publish action (idempotent: a rolled-forward action may have been half done)."""
    if action["kind"] == "link" or (action["kind"] == "move" and _is_folder_action(action)):
        return _link_into_place(Path(action["source"]), Path(action["target"]))
    if action["kind"] == "move":
        return _move_into_place(Path(action["source"]), Path(action["target"]))
    if action["kind"] == "alias":
        return _move_alias(action)
    raise RunCommitError(f"Unknown publish action {action!r} in a run manifest.")


def _is_folder_action(action: dict[str, Any]) -> bool:
    """A ``move`` of a folder, as manifests written before folders were linked list them."""
    source, target = Path(action["source"]), Path(action["target"])
    published = source.with_name(source.name.removesuffix(".staged"))
    return source.is_dir() or published.is_dir() or target.is_symlink()


def _move_into_place(source: Path, target: Path) -> str:
    """``source`` (a file) replaces ``target`` in one rename."""
    if source.exists():
        os.replace(source, target)
        _fsync_folder(target.parent)
    return f"{target}"


def _link_into_place(staged: Path, target: Path) -> str:
    """The folder ``staged`` (``.<name>.<version>.staged``) becomes what ``target`` shows, in one step.

    ``target`` is a symlink to a hidden versioned sibling, ``.<name>.<version>/``. The staged
    folder is renamed to that sibling (readers of ``target`` see nothing of it yet), then a new
    symlink made beside ``target`` is renamed over it (``os.replace``): a reader sees the old
    folder or the new one, never a missing or half-written one, whenever the process is killed.
    The previous folder is kept (a reader may still be loading it); older ones are removed.
    """
    version = staged.name.removeprefix(f".{target.name}.").removesuffix(".staged")
    folder = target.with_name(published_name(target.name, version))
    if staged.is_dir():
        if folder.exists():  # a half-done earlier attempt of the same run: the staged copy is whole
            remove(folder)
        os.replace(staged, folder)
    if not folder.is_dir():
        return f"{target}"  # published and pruned since: nothing left to do
    previous = target.resolve() if target.is_symlink() else None
    if target.exists() and not target.is_symlink():
        # A real folder from before folders were linked: set aside once (the only two-step publish).
        previous = target.with_name(published_name(target.name, "before-links"))
        if previous.exists():
            remove(previous)
        os.replace(target, previous)
    link = target.with_name(f"{folder.name}.link")
    link.unlink(missing_ok=True)
    os.symlink(folder.name, link)  # relative: the project folder can move
    kill_point("folder_link_made")
    os.replace(link, target)  # the publish: one rename
    _fsync_folder(target.parent)
    keep = {folder.name, previous.name if previous is not None else ""}
    if previous is None or previous.name != folder.name:  # a roll-forward of a done swap keeps all
        for sibling in target.parent.iterdir():
            if (sibling.name.startswith(f".{target.name}.") and not sibling.name.endswith(".staged")
                    and sibling.name not in keep):
                remove(sibling)
    return f"{target}"


def _move_alias(action: dict[str, Any]) -> str:
    """Move the registry alias, unless another run moved it since this run compared with it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    name, alias, version = action["model_name"], action["alias"], str(action["version"])
    try:
        current = str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        current = None
    expected = action.get("expected")
    if current == version:
        return f"{name}@{alias} = version {version}"
    if current != (str(expected) if expected is not None else None):
        logger.warning("%s@%s moved to version %s while this run compared against %s: left there; version %s "
                       "is registered without the alias.", name, alias, current, expected or "no champion", version)
        return f"{name}@{alias} left at version {current}"
    client.set_registered_model_alias(name, alias, version)
    return f"{name}@{alias} -> version {version}"


def roll_forward(store: RunStore) -> list[str]:
    """Finish publishing runs that committed but stopped before their publish actions were done."""
    committed = store.committed_versions() or set()
    done = []
    for version in store.started_versions():
        if version not in committed:
            continue
        manifest = store.read("committed", version)
        for action in manifest.get("publish", []):
            done.append(perform(action))
        manifest["published"] = True
        store.write("committed", version, manifest)
        store.remove("started", version)
        logger.warning("Run %s had committed but was stopped while publishing; published now: %s.",
                       version, ", ".join(done) or "nothing left to do")
    return done


def publish_committed(store: RunStore) -> list[str]:
    """Roll forward now, unless a run of the project is going on (it rolled forward as it started).

    ``kedro serve`` calls it, so that it serves the last committed run's model even when that
    run was stopped before it had published it.
    """
    if not store.local:
        return roll_forward(store)
    lock = ProjectLock(store.lock_file)
    try:
        lock.acquire(_holder("publishing committed runs"))
    except RunCommitError:
        return []
    try:
        return roll_forward(store)
    finally:
        lock.release()


def _holder(run: str) -> dict[str, Any]:
    """Who holds the project lock, as the lock file and the started record say."""
    return {"run": run, "pid": os.getpid(), "host": socket.gethostname(), "started": _now(),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}


def adopt_existing_versions(store: RunStore, catalog: Any) -> None:
    """First use of a store: versions already on storage count as committed (a project that
    ran before run manifests existed keeps its models)."""
    if store.initialized():
        return
    found: set[str] = set()
    for _, dataset in _datasets(catalog):
        if internals.is_versioned(dataset):
            found.update(internals.all_versions(dataset))
    store.initialize(sorted(found))
    if found:
        logger.info("Run manifests set up in %s; %d earlier version(s) taken as committed.", store.location, len(found))


def _datasets(catalog: Any) -> Iterator[tuple[str, Any]]:
    for name in list(catalog.keys()):
        if name.startswith("params:") or name == "parameters":
            continue
        try:
            dataset = catalog.get(name)
        except Exception:  # noqa: BLE001 - a dataset that cannot be built is not this module's to report
            logger.debug("Cannot build dataset %s", name, exc_info=True)
            continue
        if dataset is not None:
            yield name, dataset


def store_of(catalog: Any) -> RunStore | None:
    """The environment's run store: the catalog entry ``run_manifests`` (None when absent)."""
    dataset = catalog.get(MANIFESTS_DATASET) if MANIFESTS_DATASET in catalog else None
    return getattr(dataset, "store", None)


def restrict_to_committed(catalog: Any, store: RunStore, own_version: str | None) -> None:
    """Unpinned loads of every versioned dataset resolve to committed versions or ``own_version``."""
    def allowed(version: str) -> bool:
        if version == own_version:
            return True
        committed = store.committed_versions()
        return committed is None or version in committed

    for _, dataset in _datasets(catalog):
        internals.restrict_load_versions(dataset, allowed)


# ---- signals ---------------------------------------------------------------------------------

_previous_handlers: dict[int, Any] = {}


def _install_signal_handlers(version: str, store: RunStore) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    _restore_signal_handlers()

    def stop(signum: int, frame: Any) -> None:
        global _active
        name = signal.Signals(signum).name
        _restore_signal_handlers()  # a second signal acts as usual
        _active = None
        # Kedro calls no hook for a KeyboardInterrupt, and MLflow's exit handler would end the
        # run as FINISHED: end it here as KILLED.
        _end_mlflow_run("KILLED")
        logger.warning("Run %s stopped by %s: nothing of it was published; the last committed run stays current "
                       "(`kedro runs list`; `kedro runs clean` removes the stopped run's files).", version, name)
        raise KeyboardInterrupt(f"stopped by {name}")

    stop.ml_on_aws_run_handler = True  # type: ignore[attr-defined]
    for signum, default in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)):
        current = signal.getsignal(signum)
        if current is default:  # someone else's handler (the container's) is left alone
            _previous_handlers[signum] = current
            signal.signal(signum, stop)


def _block_signals() -> set[int]:
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        return set()
    signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    return signals


def _unblock_signals(signals: set[int]) -> None:
    if signals:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)


def _restore_signal_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, handler in list(_previous_handlers.items()):
        if getattr(signal.getsignal(signum), "ml_on_aws_run_handler", False):
            signal.signal(signum, handler)
    _previous_handlers.clear()


# ---- the hook --------------------------------------------------------------------------------

class RunCommitHooks:
    """Commit each run at its end; make loads see committed runs only; one local run at a time."""

    def __init__(self) -> None:
        self._catalog: Any = None

    @hook_impl
    def after_catalog_created(self, catalog: Any, save_version: str | None) -> None:
        store = store_of(catalog)
        if store is not None:
            restrict_to_committed(catalog, store, save_version)

    # Last: the configuration and S3 checks stop a bad run before it takes the lock or writes.
    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        global _active, _lock
        _finish()  # a run of this process stopped by Ctrl-C (a notebook) left its lock
        store = store_of(catalog)
        if store is None:
            return
        version = run_params["run_id"]
        holder = {**_holder(version), "env": run_params.get("env"),
                  "pipelines": run_params.get("pipeline_names") or ["__default__"]}
        if store.local:
            _lock = ProjectLock(store.lock_file)
            try:
                _lock.acquire(holder)
            except RunCommitError:
                _end_mlflow_run()  # kedro-mlflow opened one for this run, which never starts
                raise
        adopt_existing_versions(store, catalog)
        roll_forward(store)
        revision = git_revision(Path(run_params["project_path"]))
        holder["code"] = {"commit": revision.commit, "dirty": revision.dirty}
        store.write("started", version, holder)
        committed = sorted(store.committed_versions() or [])
        _active = ActiveRun(version=version, store=store, last_committed=committed[-1] if committed else None)
        self._catalog = catalog
        _install_signal_handlers(version, store)

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        kill_point(f"before_node:{node.name}")

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        kill_point(f"after_node:{node.name}")

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if _active is not None and self._catalog is not None:
            identity = _identity(self._catalog.get(dataset_name))
            if identity:  # datasets in memory or in MLflow have no place of their own
                _active.saved[dataset_name] = identity

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str) -> None:
        if _active is None or self._catalog is None or dataset_name in _active.saved:
            return
        if dataset_name.startswith("params:") or dataset_name == "parameters":
            return
        identity = _identity(self._catalog.get(dataset_name))
        if identity:
            _active.read[dataset_name] = identity

    # Last: after kedro-mlflow and every other hook, a run is complete.
    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        run = _active
        if run is None:
            return
        # The commit and its publish actions are not interrupted half way by SIGTERM or Ctrl-C:
        # those wait until they are done, then act as usual (a kill is rolled forward instead).
        _restore_signal_handlers()
        blocked = _block_signals()
        try:
            manifest = {
                "format": FORMAT, "run": run.version, **run.store.read("started", run.version),
                "committed": _now(), "saved": run.saved, "read": run.read,
                "publish": run.actions, "published": False,
            }
            run.store.write("committed", run.version, manifest)  # the commit point
            kill_point("committed")
            published = [perform(action) for action in run.actions]
            manifest["published"] = True
            run.store.write("committed", run.version, manifest)
            run.store.remove("started", run.version)
            versioned = sorted(name for name, where in run.saved.items() if where == f"@{run.version}")
            logger.info("Run %s committed (%s): %s%s.", run.version, run.store.shown("committed", f"{run.version}.json"),
                        f"{len(versioned)} versioned dataset(s)", f"; published {', '.join(published)}" if published else "")
        finally:
            _finish()
            _unblock_signals(blocked)

    @hook_impl
    def on_pipeline_error(self) -> None:
        run = _active
        if run is not None and not run.saved:
            # Stopped before it saved anything (a check node refused the data or a setting): no
            # record for `kedro runs list` to show, nothing for `kedro runs clean` to remove.
            run.store.remove("started", run.version)
        _finish()
        if run is None:
            return
        if not run.saved:
            logger.warning("Run %s failed before it saved anything: later loads keep the last committed run (%s).",
                           run.version, run.last_committed or "none yet")
            return
        logger.warning(
            "Run %s failed and is not committed: later loads keep the last committed run (%s). What it saved stays "
            "readable for diagnosis; `kedro runs list` shows it, `kedro runs clean` removes it.",
            run.version, run.last_committed or "none yet",
        )


def _end_mlflow_run(status: str = "FAILED") -> None:
    mlflow = sys.modules.get("mlflow")
    active = mlflow.active_run() if mlflow is not None else None
    if active is not None:
        mlflow.end_run(status)


def _identity(dataset: Any) -> str:
    """``@<version>`` for a versioned dataset, else its location ('' for memory and the like)."""
    if dataset is None:
        return ""
    if internals.is_versioned(dataset):
        try:
            return f"@{dataset.resolve_load_version()}"
        except Exception:  # noqa: BLE001 - a version that cannot be resolved is recorded as such
            return "@?"
    return internals.location(dataset)


def _finish() -> None:
    """Forget the running run (in this process), give the lock and the signals back."""
    global _active, _lock
    _restore_signal_handlers()
    if _lock is not None:
        _lock.release()
        _lock = None
    _active = None


# ---- kedro runs list / clean -------------------------------------------------------------------

@dataclass
class Survey:
    """What a store and a catalog's datasets hold: committed runs and the files of the others."""

    store: RunStore
    committed: list[str]
    uncommitted: dict[str, list[tuple[str, Any]]]  # version -> [(shown path, remover)]
    started: dict[str, dict[str, Any]]
    running: str | None


def survey(catalog: Any) -> Survey:
    store = store_of(catalog)
    if store is None:
        raise RunCommitError(f"The catalog has no '{MANIFESTS_DATASET}' entry, so runs are not committed in this "
                             "environment; add one like conf/base/catalog.yml's.")
    committed = sorted(store.committed_versions() or [])
    done = set(committed)
    files: dict[str, list[tuple[str, Any]]] = {}
    for _, dataset in _datasets(catalog):
        if internals.is_versioned(dataset):
            for version in internals.all_versions(dataset):
                shown = internals.location(dataset) + f"/{version}"
                # Two catalog entries may name one file (model_reference_data is reference_data).
                if version not in done and shown not in {path for path, _ in files.get(version, [])}:
                    folder = internals.version_folder(dataset, version)
                    fs = internals.filesystem(dataset)
                    files.setdefault(version, []).append((shown, lambda fs=fs, folder=folder: fs.rm(folder, recursive=True)))
        if hasattr(dataset, "staged_copies"):
            for version, path in dataset.staged_copies().items():
                if version not in done:
                    files.setdefault(version, []).append((str(path), lambda path=path: remove(path)))
    started = {v: store.read("started", v) for v in store.started_versions() if v not in done}
    running = None
    if store.local and ProjectLock(store.lock_file).is_held():
        with contextlib.suppress(OSError, json.JSONDecodeError):
            running = json.loads(store.lock_file.read_text(encoding="utf-8")).get("run")
    return Survey(store, committed, files, started, running)


def describe(found: Survey, limit: int = 10) -> list[str]:
    """The lines ``kedro runs list`` prints."""
    lines = [f"Runs in {found.store.location}"]
    shown = found.committed[-limit:][::-1]
    lines.append(f"Committed ({len(found.committed)}, newest first{'; ' + str(limit) + ' shown' if len(found.committed) > limit else ''}):")
    for version in shown:
        record = found.store.read("committed", version)
        what = "taken over from before run manifests" if record.get("adopted") else (
            f"`{record.get('command', '?')}`, committed {record.get('committed', '?')}")
        lines.append(f"  {version}{'  (current)' if version == shown[0] else ''}  {what}")
    if not shown:
        lines.append("  none yet: versioned loads have nothing to resolve to until a run completes")
    others = sorted(set(found.uncommitted) | set(found.started), reverse=True)
    lines.append(f"Not committed ({len(others)}): never loaded unless named with --load-versions; "
                 "`kedro runs clean` removes them" if others else "Not committed: none")
    for version in others:
        record = found.started.get(version, {})
        state = "running now" if version == found.running else "failed, killed or stopped"
        if record:
            state += f"; pid {record.get('pid')} on {record.get('host')}, `{record.get('command')}`"
        lines.append(f"  {version}  {state}")
        lines += [f"      {shown_path}" for shown_path, _ in found.uncommitted.get(version, [])]
    return lines


def clean(catalog: Any, older_than_minutes: float | None, dry_run: bool) -> tuple[list[str], list[str]]:
    """Remove what runs that did not commit left; (removed, kept with the reason)."""
    found = survey(catalog)
    store = found.store
    lock = None
    if store.local and not dry_run:
        lock = ProjectLock(store.lock_file)
        lock.acquire(_holder("kedro runs clean"))
    try:
        if not dry_run:
            roll_forward(store)
        threshold = None if older_than_minutes is None else datetime.now(UTC).timestamp() - older_than_minutes * 60
        removed, kept = [], []
        for version in sorted(set(found.uncommitted) | set(found.started)):
            started = version_time(version)
            if threshold is not None and (started is None or started.timestamp() > threshold):
                kept.append(f"{version} (started less than {older_than_minutes:g} minutes ago: it may still be running)")
                continue
            for shown_path, remover in found.uncommitted.get(version, []):
                if not dry_run:
                    remover()
                removed.append(shown_path)
            if version in found.started and not dry_run:
                store.remove("started", version)
            if version in found.started:
                removed.append(found.store.shown("started", f"{version}.json"))
        return removed, kept
    finally:
        if lock is not None:
            lock.release()
