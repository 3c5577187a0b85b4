"""Where a :class:`~ml_on_aws.core.mlflow_models.ModelPackage` is written: a folder, and the registry.

kedro-mlflow's model datasets take ``save_args`` from the catalog, fixed before the run; the
signature, input example and skops trusted types of this project's model are known only once
it is trained, and its loaders need the process-wide MLFLOW_ALLOW_PICKLE_DESERIALIZATION switch.
These two datasets take them from the package instead and load through the checked loader.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError, get_filepath_str

from ml_on_aws.core.mlflow_models import ModelPackage, ModelRelease, load_package
from ml_on_aws.datasets.file_system import FileSystemDataset

logger = logging.getLogger(__name__)


class MlflowModelDirectoryDataset(AbstractDataset[ModelPackage, ModelPackage]):
    """An MLflow model directory (sklearn flavour, skops format) on the local file system.

    ``filepath`` is a symlink to a hidden versioned sibling (``.<name>.<version>/``). In a run,
    the folder is written to ``.<name>.<run version>.staged/`` and published when the run
    commits (``ml_on_aws.datasets.runs``): renamed to its versioned name, then the symlink is replaced in
    one rename. A reader sees the previous model or the new one, never none or half of one; a
    run that fails or is killed leaves the previous model in place. Outside a run the same
    happens as soon as the folder is written.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _staged(self, version: str) -> Path:
        from ml_on_aws.datasets import runs

        return self._filepath.with_name(runs.staged_name(self._filepath.name, version))

    def _current(self) -> Path:
        """This run's staged folder when it saved one, else the published folder it links to."""
        from ml_on_aws.datasets import runs

        run = runs.active_run()
        if run is not None and (self._staged(run.version) / "MLmodel").is_file():
            return self._staged(run.version)
        return self._filepath.resolve() if self._filepath.is_symlink() else self._filepath

    def load(self) -> ModelPackage:
        path = self._current()
        if not path.exists():
            raise DatasetError(f"No MLflow model directory at {self._filepath}; run the training pipeline first.")
        return load_package(path)

    def save(self, data: ModelPackage) -> None:
        import mlflow.sklearn

        from ml_on_aws.datasets import runs

        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        run = runs.active_run()
        staged = self._staged(run.version if run is not None else f"direct-{uuid.uuid4().hex[:12]}")
        shutil.rmtree(staged, ignore_errors=True)
        mlflow.sklearn.save_model(data.model, str(staged), **data.mlflow_args())
        runs.kill_point("mlflow_model_written")
        action = {"kind": "link", "source": str(staged), "target": str(self._filepath)}
        if not runs.defer(action):
            runs.perform(action)

    def staged_copies(self) -> dict[str, Path]:
        from ml_on_aws.datasets.published import staged_copies

        return staged_copies(self._filepath)

    def staged_folder(self) -> Path | None:
        """The folder the running run saved and has not published yet, or None.

        What a hook adds to it at the end of the run (the lineage record, which names the
        registered version known only then) is published with the model, in the same rename.
        """
        from ml_on_aws.datasets import runs

        run = runs.active_run()
        if run is None or not (self._staged(run.version) / "MLmodel").is_file():
            return None
        return self._staged(run.version)

    def _exists(self) -> bool:
        return (self._current() / "MLmodel").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(PurePosixPath(self._filepath)), "flavor": "mlflow.sklearn"}


class VersionedModelDataset(FileSystemDataset):
    """The fitted scikit-learn model as a versioned MLflow model directory, locally or on S3.

    Each save writes ``<filepath>/<version>/<name>/`` (MLmodel, the skops file, requirements):
    Kedro versioning and the run commit (``ml_on_aws.datasets.runs``) apply to it as to any versioned
    dataset, so evaluation reads the model its own run just saved and batch inference the last
    committed one. Loads read the skops file with the types checked against the trusted
    packages (``ml_on_aws.core.mlflow_models.load_sklearn_model``); no pickle is ever read.
    """

    def load(self) -> Any:
        from ml_on_aws.core.mlflow_models import load_sklearn_model

        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        if self._protocol == "file":
            return load_sklearn_model(load_path)
        with tempfile.TemporaryDirectory() as folder:
            for remote in self._fs.find(load_path):
                local = Path(folder) / PurePosixPath(remote).relative_to(load_path)
                local.parent.mkdir(parents=True, exist_ok=True)
                self._fs.get_file(remote, str(local))
            return load_sklearn_model(folder)

    def save(self, data: Any) -> None:
        import mlflow.sklearn

        from ml_on_aws.core.mlflow_models import model_only_args

        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        if self._protocol == "file":
            mlflow.sklearn.save_model(data, save_path, **model_only_args(data))
            return
        with tempfile.TemporaryDirectory() as folder:
            written = Path(folder) / "model"
            mlflow.sklearn.save_model(data, str(written), **model_only_args(data))
            for local in sorted(p for p in written.rglob("*") if p.is_file()):
                self._fs.put_file(str(local), f"{save_path}/{local.relative_to(written).as_posix()}")
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def _exists(self) -> bool:
        try:
            load_path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(load_path)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "protocol": self._protocol, "version": self._version,
                "format": "MLflow model directory (skops)"}


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
