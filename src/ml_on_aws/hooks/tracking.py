"""What kedro-mlflow does not record by itself: where the code and the data of a run came from.

kedro-mlflow opens one MLflow run per ``kedro run`` and logs the parameters; this hook adds the
git commit, the Kedro environment and the identity (path, version, rows, content hash) of every
dataset the pipeline reads from outside, so a run can be traced back to its exact inputs.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.framework.project import settings

from ml_on_aws.core.git import git_revision
from ml_on_aws.datasets import internals

logger = logging.getLogger(__name__)

ARTIFACT_PATH_KEY = "mlflow_artifact_path"
# Rows from which a tracked table's column schema is inferred (the UI's "Datasets used").
_SCHEMA_SAMPLE_ROWS = 10_000
_LOCAL_STORE_SCHEMES = ("sqlite:", "file:", "postgresql", "mysql")


def local_artifact_location(tracking_uri: str | None, folder: str) -> str | None:
    """``folder`` when runs are tracked in a local database, else None (the server's default).

    A remote tracking server (http(s)://, a SageMaker tracking-server ARN, databricks) stores
    artifacts where it is configured to; forcing a local folder there would lose them.
    """
    uri = str(tracking_uri or "")
    if uri.startswith(_LOCAL_STORE_SCHEMES):
        return folder
    if "://" in uri or uri.startswith(("arn:", "databricks")):
        return None
    return folder  # a plain path: MLflow's file store


def table_identity(data: pd.DataFrame) -> dict[str, Any]:
    """Rows, columns and a SHA-256 of the content: equal for equal tables, whatever the file format."""
    row_hashes = pd.util.hash_pandas_object(data, index=False).to_numpy()
    digest = hashlib.sha256(row_hashes.tobytes())
    digest.update("\x1f".join(map(str, data.columns)).encode())
    return {"rows": len(data), "columns": data.shape[1], "sha256": digest.hexdigest()}


class RunIdentityHooks:
    """Tag the MLflow run with its code and data; log the reports the catalog marks.

    A catalog entry with ``metadata: {mlflow_artifact_path: ...}`` is logged here when it is
    saved on the local disk. kedro-mlflow's MlflowArtifactDataset would not do: under Kedro 1.7
    it fails on a versioned dataset (the wrapped dataset gets its own save version, which the
    catalog rejects) and on a folder of figures (``log_artifact`` on a directory), and one entry
    is versioned and in S3 under ``--env aws``.
    """

    def __init__(self) -> None:
        self._external_inputs: set[str] = set()
        self._catalog: Any = None
        self._logged: set[str] = set()
        self._tags: dict[str, str] = {}

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._catalog = catalog
        self._logged = set()
        self._external_inputs = {name for name in pipeline.inputs() if not name.startswith("params:") and name != "parameters"}
        revision = git_revision(Path(run_params["project_path"]))
        env = run_params.get("env") or settings.CONFIG_LOADER_ARGS.get("default_run_env", "local")
        self._tags = {"git_commit": revision.commit, "mlflow.source.git.commit": revision.commit, "kedro_env": env}
        if revision.dirty is not None:
            self._tags["git_dirty"] = str(revision.dirty).lower()

    @hook_impl
    def before_node_run(self) -> None:
        # kedro-mlflow (re)activates the run in its own before_node_run, which pluggy calls
        # before the project's; the tags are set once, into that run.
        import mlflow

        if self._tags and mlflow.active_run() is not None:
            mlflow.set_tags(self._tags)
            self._tags = {}

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any) -> None:
        if dataset_name not in self._external_inputs or dataset_name in self._logged:
            return
        if not isinstance(data, pd.DataFrame):
            return
        import mlflow
        from mlflow.models import infer_signature

        if mlflow.active_run() is None:
            return
        self._logged.add(dataset_name)
        dataset = self._catalog[dataset_name]
        where, version = internals.location(dataset), internals.load_version(dataset)
        identity = table_identity(data)
        mlflow.log_params(
            {
                f"dataset.{dataset_name}.path": where,
                f"dataset.{dataset_name}.version": version,
                **{f"dataset.{dataset_name}.{key}": value for key, value in identity.items()},
            }
        )
        # Also as an MLflow dataset input, so the UI lists it under "Datasets used". MLflow's
        # hints here (an ambiguous local source, integer columns in the inferred schema) concern
        # model signatures, which the registry builds itself: they would only clutter the log.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.(data|types)\.")
            source = mlflow.data.from_pandas(data, source=where, name=dataset_name, digest=identity["sha256"][:32])
            # MLflow would infer the column schema from every row (10 s for 1M rows); a random
            # sample gives the column types. Set before log_input reads the (cached) property.
            sample = data.sample(min(len(data), _SCHEMA_SAMPLE_ROWS), random_state=0)
            vars(source)["schema"] = infer_signature(sample).inputs
            mlflow.log_input(source, context=dataset_name)
        logger.info("Tracked dataset '%s': %s rows, sha256 %s.", dataset_name, identity["rows"], identity["sha256"][:12])

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        dataset = self._catalog[dataset_name] if self._catalog is not None else None
        artifact_path = (getattr(dataset, "metadata", None) or {}).get(ARTIFACT_PATH_KEY)
        if artifact_path is None:
            return
        import mlflow

        if mlflow.active_run() is None:
            return
        if internals.is_remote(dataset) or internals.load_path(dataset) is None:
            # The `aws` environment keeps its reports in the bucket, next to the run's artifacts.
            logger.info("Report '%s' stays in %s; it is not copied into the MLflow run.", dataset_name,
                        internals.location(dataset))
            return
        # The load path of a versioned dataset is the version just saved.
        path = Path(internals.load_path(dataset))
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=artifact_path)
        else:
            mlflow.log_artifact(str(path), artifact_path=artifact_path)
