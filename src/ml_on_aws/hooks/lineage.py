"""Record where each run's model came from (``ml_on_aws.core.lineage``): data, runs, code, image.

During the run the hook notes the MLflow run, and the identity of every file-based dataset the
pipeline reads from outside (``raw_data``, ``test_data``, ...) right after it is loaded
(``ml_on_aws.datasets.identity``: S3 version id or ETag and last-modified, local size, time and
SHA-256). After the last node, once the registry has registered the model, it writes the record:

- ``lineage.json`` into the MLflow model directory the run saved, before the run commits, so it
  is published with the model (and copied to ``/opt/ml/model`` by a training job);
- the MLflow run's artifact ``lineage.json`` and its tags (``lineage.kedro_run``, ``lineage.image``,
  ``lineage.input.<dataset>``); the same tags, and ``lineage.json``, on the registered model version.

The datasets the run read and saved are those its manifest lists (``ml_on_aws.datasets.runs``),
taken from the running run just before it commits. A failure to reach MLflow at the end is
logged as a warning naming what was not recorded; it does not undo a run that completed.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import settings

from ml_on_aws.core import lineage
from ml_on_aws.core.git import git_revision
from ml_on_aws.datasets import runs
from ml_on_aws.datasets.identity import data_identity

logger = logging.getLogger(__name__)

# The MLflow run tags RegisteredModelDataset sets when it registers a version.
_REGISTERED_NAME_TAG = "registered_model"
_REGISTERED_VERSION_TAG = "registered_model_version"


def _logged_model_id(version: Any) -> str | None:
    """The logged model (MLflow 3) whose files a registered version serves: ``models:/<id>``."""
    model_id = getattr(version, "model_id", None)
    source = str(getattr(version, "source", "") or "")
    if not model_id and source.startswith("models:/") and "/" not in source.removeprefix("models:/"):
        model_id = source.removeprefix("models:/")
    return model_id or None


def _active_mlflow_run_id() -> str | None:
    import mlflow

    active = mlflow.active_run()
    return active.info.run_id if active is not None else None


class LineageHooks:
    """Write each run's lineage record to its model directory, its MLflow run and its model version."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._record: dict[str, Any] | None = None
        self._catalog: Any = None
        self._external_inputs: set[str] = set()
        self._mlflow_run_id: str | None = None
        self._tagged = False

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._reset()
        self._catalog = catalog
        self._external_inputs = {name for name in pipeline.inputs() if not name.startswith("params:") and name != "parameters"}
        revision = git_revision(Path(run_params["project_path"]))
        self._record = {
            "format": lineage.FORMAT,
            "model": None,
            "mlflow_run_id": None,
            "kedro_run": {"version": run_params["run_id"],
                          "env": run_params.get("env") or settings.CONFIG_LOADER_ARGS.get("default_run_env", "local"),
                          "pipelines": run_params.get("pipeline_names") or ["__default__"], "manifest": None},
            "datasets": {"read": {}, "saved": {}},
            "inputs": {},
            "code": {"commit": revision.commit, "dirty": revision.dirty},
            "image": lineage.running_image(),
        }
        self._mlflow_run_id = _active_mlflow_run_id()

    @hook_impl
    def before_node_run(self) -> None:
        # kedro-mlflow opens (or reopens) its run before each node; tag it once it exists, so
        # even a run that fails names its Kedro run.
        if self._record is None or self._tagged:
            return
        self._mlflow_run_id = self._mlflow_run_id or _active_mlflow_run_id()
        if self._mlflow_run_id is not None:
            import mlflow

            mlflow.MlflowClient().set_tag(self._mlflow_run_id, lineage.TAG_KEDRO_RUN, self._record["kedro_run"]["version"])
            self._tagged = True

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str) -> None:
        record = self._record
        if record is None or dataset_name not in self._external_inputs or dataset_name in record["inputs"]:
            return
        dataset = self._catalog.get(dataset_name)
        try:
            identity = data_identity(dataset)
        except Exception as exc:  # noqa: BLE001 - the record says it could not be had, and why
            identity = {"location": dataset_name, "error": f"{type(exc).__name__}: {exc}"}
            logger.warning("Lineage: no identity for dataset '%s' (%s).", dataset_name, identity["error"])
        if identity is not None:
            record["inputs"][dataset_name] = identity

    # Before the run commits (RunCommitHooks.after_pipeline_run is trylast): the model directory
    # is still this run's staged copy, and the manifest's lists are complete.
    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], catalog: Any) -> None:
        record = self._record
        self._record = None
        if record is None:
            return
        active = runs.active_run()
        if active is not None:
            record["datasets"] = {"read": dict(active.read), "saved": dict(active.saved)}
            record["kedro_run"]["manifest"] = active.store.shown("committed", f"{active.version}.json")
        record["mlflow_run_id"] = self._mlflow_run_id
        if self._mlflow_run_id is not None:
            record["model"] = self._registered_model(self._mlflow_run_id)
        written = self._write_to_model_directories(record, catalog)
        if self._mlflow_run_id is not None:
            self._record_in_mlflow(record)
        label = lineage.model_label(record["model"])
        where = [f"{name}/{lineage.LINEAGE_FILE}" for name in written]
        if self._mlflow_run_id is not None:
            where.append(f"MLflow run {self._mlflow_run_id}")
        logger.info("Lineage of run %s%s recorded in %s (`kedro lineage --run %s`).", record["kedro_run"]["version"],
                    f" (model version {label})" if label else "", ", ".join(where) or "no model directory or MLflow run",
                    record["kedro_run"]["version"])

    @staticmethod
    def _registered_model(run_id: str) -> dict[str, str] | None:
        import mlflow
        from mlflow.exceptions import MlflowException

        try:
            tags = mlflow.MlflowClient().get_run(run_id).data.tags
        except MlflowException as exc:
            logger.warning("Lineage: cannot read MLflow run %s to find the model version it registered: %s.", run_id, exc)
            return None
        name, version = tags.get(_REGISTERED_NAME_TAG), tags.get(_REGISTERED_VERSION_TAG)
        return {"name": name, "version": version} if name and version else None

    @staticmethod
    def _write_to_model_directories(record: dict[str, Any], catalog: Any) -> list[str]:
        """Write the record into every MLflow model directory the run saved; their dataset names."""
        from ml_on_aws.datasets.mlflow_model import MlflowModelDirectoryDataset

        written = []
        for name in catalog.keys():
            if not (catalog.get_type(name) or "").endswith(MlflowModelDirectoryDataset.__name__):
                continue
            dataset = catalog.get(name)
            folder = dataset.staged_folder() if isinstance(dataset, MlflowModelDirectoryDataset) else None
            if folder is not None:
                lineage.write_record(record, folder)
                written.append(name)
        return written

    @staticmethod
    def _record_in_mlflow(record: dict[str, Any]) -> None:
        import mlflow
        from mlflow.exceptions import MlflowException

        client = mlflow.MlflowClient()
        run_id = record["mlflow_run_id"]
        tags = lineage.mlflow_tags(record)
        model = record["model"]
        try:
            client.log_dict(run_id, record, lineage.LINEAGE_FILE)
            for key, value in tags.items():
                client.set_tag(run_id, key, value)
            if model is None:
                return
            for key, value in tags.items():
                client.set_model_version_tag(model["name"], model["version"], key, value)
            model_id = _logged_model_id(client.get_model_version(model["name"], model["version"]))
            if model_id:  # the registered version's own files: `download-model` copies carry it too
                with tempfile.TemporaryDirectory() as folder:
                    client.log_model_artifact(model_id, str(lineage.write_record(record, folder)))
        except (MlflowException, OSError) as exc:
            logger.warning("Lineage: not (fully) recorded in MLflow run %s%s: %s. The model directory's %s has it.",
                           run_id, f" / model version {lineage.model_label(model)}" if model else "", exc,
                           lineage.LINEAGE_FILE)
