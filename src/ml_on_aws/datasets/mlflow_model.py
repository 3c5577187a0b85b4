"""Where a :class:`~ml_on_aws.core.mlflow_models.ModelPackage` is written: a folder, and the registry.

kedro-mlflow's model datasets take ``save_args`` from the catalog, fixed before the run; the
signature, input example and skops trusted types of this project's model are known only once
it is trained, and its loaders need the process-wide MLFLOW_ALLOW_PICKLE_DESERIALIZATION switch.
These two datasets take them from the package instead and load through the checked loader.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from ml_on_aws.core.mlflow_models import ModelPackage, ModelRelease, load_package

logger = logging.getLogger(__name__)


class MlflowModelDirectoryDataset(AbstractDataset[ModelPackage, ModelPackage]):
    """An MLflow model directory (sklearn flavour, skops format) on the local file system.

    In a run, the folder is written to a hidden sibling (``.<name>.<run version>.staged``) and
    moved into place when the run commits (``ml_on_aws.datasets.runs``): a run that fails or is killed
    leaves the previous model in place. Outside a run it is swapped in as soon as it is complete.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _current(self) -> Path:
        """This run's staged folder when it saved one, else the published folder."""
        from ml_on_aws.datasets import runs

        run = runs.active_run()
        if run is not None:
            staged = self._filepath.with_name(runs.staged_name(self._filepath.name, run.version))
            if (staged / "MLmodel").is_file():
                return staged
        return self._filepath

    def load(self) -> ModelPackage:
        path = self._current()
        if not path.exists():
            raise DatasetError(f"No MLflow model directory at {path}; run the training pipeline first.")
        return load_package(path)

    def save(self, data: ModelPackage) -> None:
        import mlflow.sklearn

        from ml_on_aws.datasets import runs

        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        run = runs.active_run()
        if run is not None:
            staged = self._filepath.with_name(runs.staged_name(self._filepath.name, run.version))
            shutil.rmtree(staged, ignore_errors=True)
            mlflow.sklearn.save_model(data.model, str(staged), **data.mlflow_args())
            runs.kill_point("mlflow_model_written")
            runs.defer({"kind": "move", "source": str(staged), "target": str(self._filepath)})
            return
        staging = Path(tempfile.mkdtemp(prefix=f".{self._filepath.name}-", dir=self._filepath.parent))
        try:
            target = staging / "model"
            mlflow.sklearn.save_model(data.model, str(target), **data.mlflow_args())
            previous = staging / "previous"
            if self._filepath.exists():
                os.replace(self._filepath, previous)
            os.replace(target, self._filepath)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def staged_copies(self) -> dict[str, Path]:
        from ml_on_aws.datasets.published import staged_copies

        return staged_copies(self._filepath)

    def _exists(self) -> bool:
        return (self._current() / "MLmodel").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(PurePosixPath(self._filepath)), "flavor": "mlflow.sklearn"}


class RegisteredModelDataset(AbstractDataset[ModelRelease, ModelPackage | None]):
    """A registered model in the MLflow model registry of the active tracking URI.

    ``load`` returns the version behind ``alias`` (None when there is none yet). ``save`` logs
    the released package to the active run, registers it as a new version (every version is
    kept) and, when the release says so, moves ``alias`` to it: once the run commits (the
    model's files are all logged by then), and only if no other run moved the alias since this
    one compared with the champion.

    Without ``model_name``, a Kedro run names it after the ``raw_data`` file
    (:mod:`ml_on_aws.hooks.model_names`), so each dataset has its own champion.
    """

    def __init__(self, model_name: str | None = None, alias: str = "champion", artifact_name: str = "model",
                 metadata: dict[str, Any] | None = None) -> None:
        self._name = model_name
        self._alias = alias
        self._artifact_name = artifact_name
        self.metadata = metadata

    @property
    def model_name(self) -> str | None:
        return self._name

    @model_name.setter
    def model_name(self, value: str) -> None:
        self._name = value

    @property
    def _model_name(self) -> str:
        if not self._name:
            raise DatasetError(
                "RegisteredModelDataset has no model_name: set one in the catalog, or run through Kedro, "
                "which names it after the raw_data file (ml_on_aws.hooks.model_names)."
            )
        return self._name

    def load(self) -> ModelPackage | None:
        import mlflow
        from mlflow.exceptions import MlflowException

        client = mlflow.MlflowClient()
        try:
            version = client.get_model_version_by_alias(self._model_name, self._alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                logger.info("No '%s' version of model '%s' yet.", self._alias, self._model_name)
                return None
            raise
        with tempfile.TemporaryDirectory() as folder:
            path = mlflow.artifacts.download_artifacts(f"models:/{self._model_name}@{self._alias}", dst_path=folder)
            package = load_package(path)
        return ModelPackage(
            model=package.model, input_example=package.input_example, signature=package.signature,
            trusted_types=package.trusted_types,
            metadata={**package.metadata, "registered_version": version.version, "run_id": version.run_id},
        )

    def save(self, data: ModelRelease) -> None:
        import mlflow
        import mlflow.sklearn

        info = mlflow.sklearn.log_model(
            data.package.model, name=self._artifact_name, registered_model_name=self._model_name,
            **data.package.mlflow_args(),
        )
        version = str(info.registered_model_version)
        client = mlflow.MlflowClient()
        for key, value in data.decision.items():
            client.set_model_version_tag(self._model_name, version, key, str(value))
        if data.promote:
            from ml_on_aws.datasets import runs

            action = {"kind": "alias", "model_name": self._model_name, "alias": self._alias, "version": version,
                      "expected": data.decision.get("champion_version")}
            if not runs.defer(action):
                runs.perform(action)
        if mlflow.active_run() is not None:
            mlflow.set_tags({"registered_model": self._model_name, "registered_model_version": version,
                             f"registered_model_{self._alias}": str(data.promote).lower()})
        logger.info("Registered %s version %s%s.", self._model_name, version,
                    f"; @{self._alias} moves to it when the run commits" if data.promote else f"; @{self._alias} unchanged")

    def _describe(self) -> dict[str, Any]:
        return {"model_name": self._name, "alias": self._alias}


class MlflowSklearnModelDataset(AbstractDataset[None, Any]):
    """Read-only: the fitted scikit-learn model of an MLflow model directory or a ``model.tar.gz``.

    A SageMaker processing job gets the training job's artifact as ``model.tar.gz`` in its input
    folder; an unpacked folder (MLmodel at its root or one level down) works too.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> Any:
        from ml_on_aws.core.archives import extract_tar
        from ml_on_aws.core.mlflow_models import load_sklearn_model

        archives = sorted(self._filepath.glob("*.tar.gz")) if self._filepath.is_dir() else []
        if self._filepath.is_file() or (archives and not (self._filepath / "MLmodel").exists()):
            archive = self._filepath if self._filepath.is_file() else archives[0]
            with tempfile.TemporaryDirectory() as folder:
                extract_tar(archive, folder)
                return load_sklearn_model(folder)
        return load_sklearn_model(self._filepath)

    def save(self, data: Any) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only; the training pipeline writes 'mlflow_model'.")

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(PurePosixPath(self._filepath))}
