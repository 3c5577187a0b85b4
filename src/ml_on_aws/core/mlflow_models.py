"""The project's model as an MLflow model directory: what goes in, and how it is read back safely.

MLflow 3.17 saves scikit-learn models with skops, which rebuilds only the types it is told to
trust. The list is computed from the model itself (``skops.io.get_untrusted_types``) and
accepted only when every type comes from a trusted package (:func:`trusted_modules`), both
when saving and again when loading, so a tampered directory cannot widen it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

# Packages whose classes a project model is made of; extend with ML_ON_AWS_TRUSTED_MODULES
# (comma-separated, e.g. "lightgbm") when the estimator comes from another library.
DEFAULT_TRUSTED_MODULES = ("sklearn", "numpy", "scipy", "ml_on_aws")
MLMODEL_FILE = "MLmodel"
# What a saved model needs at load time; pinned to the versions it was trained with.
_RUNTIME_PACKAGES = ("scikit-learn", "skops", "pandas", "numpy", "scipy")


class UntrustedModelError(ValueError):
    """The model contains classes from packages that are not trusted to be loaded."""


class ModelDirectoryError(FileNotFoundError):
    """A path is not an MLflow model directory of the sklearn flavour."""


def trusted_modules() -> tuple[str, ...]:
    extra = os.environ.get("ML_ON_AWS_TRUSTED_MODULES", "")
    return DEFAULT_TRUSTED_MODULES + tuple(m.strip() for m in extra.split(",") if m.strip())


def _check_trusted(types: list[str], where: str) -> list[str]:
    allowed = trusted_modules()
    outside = [t for t in types if t.split(".", 1)[0] not in allowed]
    if outside:
        raise UntrustedModelError(
            f"{where} contains types from packages that are not trusted: {', '.join(sorted(outside))}. "
            f"Trusted packages: {', '.join(allowed)}; add a package with ML_ON_AWS_TRUSTED_MODULES "
            "only if you trust its code."
        )
    return sorted(types)


def load_skops_bytes(data: bytes, where: str) -> Any:
    """An object saved with ``skops.io.dumps``, rebuilt only if every type it holds is trusted."""
    import skops.io

    return skops.io.loads(data, trusted=_check_trusted(skops.io.get_untrusted_types(data=data), where))


def skops_trusted_types(model: Any) -> list[str]:
    """The types skops must be told to trust to load ``model``, checked against the trusted packages."""
    import skops.io

    return _check_trusted(skops.io.get_untrusted_types(data=skops.io.dumps(model)), "The model")


@dataclass(frozen=True)
class ModelPackage:
    """A fitted model with what MLflow stores beside it."""

    model: Any
    input_example: pd.DataFrame
    signature: Any
    trusted_types: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    # The compiled prediction path (ml_on_aws.pipelines.feature_engineering.compiled), saved as an extra file when present.
    compiled: dict[str, Any] | None = None

    def mlflow_args(self) -> dict[str, Any]:
        """Keyword arguments shared by ``mlflow.sklearn.save_model`` and ``log_model``."""
        import ml_on_aws

        extra = {}
        if self.compiled is not None:
            folder = tempfile.mkdtemp(prefix="compiled-")
            weakref.finalize(self, shutil.rmtree, folder, True)  # MLflow copies it while saving
            extra["extra_files"] = [str(write_compiled_spec(self.compiled, folder))]
        return {**extra,
            "signature": self.signature,
            "input_example": self.input_example,
            "serialization_format": "skops",
            "skops_trusted_types": self.trusted_types,
            "metadata": self.metadata,
            "pip_requirements": runtime_requirements(),
            # The custom transformers travel with the model, so `mlflow models serve` loads it
            # in an environment without this project installed.
            "code_paths": [str(Path(ml_on_aws.__file__).parent)],
        }


def model_only_args(model: Any) -> dict[str, Any]:
    """``save_model`` arguments for the bare fitted model (the training run's versioned copy):
    skops with its checked trusted types, no signature, example or bundled code."""
    return {"serialization_format": "skops", "skops_trusted_types": skops_trusted_types(model),
            "pip_requirements": runtime_requirements()}


def runtime_requirements() -> list[str]:
    pins = []
    for package in _RUNTIME_PACKAGES:
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            pins.append(package)
    return pins


def find_model_directory(path: str | Path) -> Path:
    """``path`` if it holds an MLmodel file, else its only sub-folder that does.

    SageMaker unpacks model.tar.gz into /opt/ml/model, which may add one folder level. A symlink
    (``data/06_models/mlflow_model``) is resolved once, so that every file is read from the one
    folder it pointed to even if it is swapped meanwhile; hidden sub-folders (a copy being made)
    are not models.
    """
    root = Path(path)
    if root.is_symlink():
        root = root.resolve()
    if (root / MLMODEL_FILE).is_file():
        return root
    if not root.is_dir():
        raise ModelDirectoryError(f"Model directory {path} does not exist.")
    found = sorted(p.parent for p in root.glob(f"*/{MLMODEL_FILE}") if not p.parent.name.startswith("."))
    if len(found) == 1:
        return found[0]
    if not found:
        raise ModelDirectoryError(
            f"{root} is not an MLflow model directory: no {MLMODEL_FILE} file in it or in a sub-folder."
        )
    raise ModelDirectoryError(f"{root} holds several MLflow models ({', '.join(map(str, found))}); point at one.")


def load_sklearn_model(path: str | Path) -> Any:
    """The fitted scikit-learn model of an MLflow model directory written by this project.

    Reads the skops file itself instead of ``mlflow.sklearn.load_model``, which requires the
    process-wide MLFLOW_ALLOW_PICKLE_DESERIALIZATION switch; the types are checked instead.
    """
    import skops.io
    from mlflow.models import Model

    directory = find_model_directory(path)
    flavors = Model.load(str(directory)).flavors
    sklearn_flavor = flavors.get("sklearn")
    if sklearn_flavor is None:
        raise ModelDirectoryError(f"{directory} has no sklearn flavour (flavours: {', '.join(flavors)}).")
    if sklearn_flavor.get("serialization_format") != "skops":
        raise UntrustedModelError(
            f"{directory} stores the model as {sklearn_flavor.get('serialization_format')!r}; only skops "
            "files are loaded, since pickles can run arbitrary code."
        )
    model_file = directory / sklearn_flavor["pickled_model"]
    types = _check_trusted(skops.io.get_untrusted_types(file=model_file), f"Model file {model_file}")
    return skops.io.load(model_file, trusted=types)


def load_package(path: str | Path) -> ModelPackage:
    """A saved model directory back as a :class:`ModelPackage`."""
    from mlflow.models import Model

    directory = find_model_directory(path)
    info = Model.load(str(directory))
    sklearn_flavor = info.flavors.get("sklearn", {})
    return ModelPackage(
        model=load_sklearn_model(directory),
        input_example=info.load_input_example(str(directory)),
        signature=info.signature,
        trusted_types=list(sklearn_flavor.get("skops_trusted_types") or []),
        metadata=dict(info.metadata or {}),
        compiled=read_compiled_spec(directory),  # so the registered version carries it too
    )


@dataclass(frozen=True)
class ModelRelease:
    """A packaged model and the decision whether it replaces the champion."""

    package: ModelPackage
    promote: bool
    decision: dict[str, Any]


def download_model(model_uri: str, destination: str | Path) -> Path:
    """Copy a model from the tracking server to ``destination`` and return its model directory.

    ``model_uri`` is any MLflow model URI: ``models:/<name>@champion`` (an alias),
    ``models:/<name>/<version>``, ``runs:/<run_id>/model`` or ``models:/<model_id>``; the
    tracking and registry URIs are MLflow's current ones (MLFLOW_TRACKING_URI).
    """
    import mlflow

    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    if any(destination.iterdir()):
        raise FileExistsError(f"{destination} is not empty; give a new or empty folder.")
    local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(destination))
    return find_model_directory(local)


# The compiled prediction path's data (pipelines/feature_engineering/compiled.py) is an extra file
# of the model: the model format names and reads it; what it means is the feature pipeline's.
COMPILED_FILE = "compiled_model.json"


def write_compiled_spec(spec: dict[str, Any], folder: str | Path) -> Path:
    path = Path(folder) / COMPILED_FILE
    path.write_text(json.dumps(spec, allow_nan=False))
    return path


def read_compiled_spec(directory: str | Path) -> dict[str, Any] | None:
    """The compiled path's data an MLflow model directory lists as an extra file, or None."""
    from mlflow.models import Model

    flavor = Model.load(str(directory)).flavors.get("sklearn", {})
    files = [Path(directory) / entry["path"] for entry in flavor.get("extra_files") or []
             if Path(entry["path"]).name == COMPILED_FILE]
    return json.loads(files[0].read_text()) if files else None
