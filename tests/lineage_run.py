"""One small run in-process, as `kedro run` makes it, with the project's lineage and commit hooks.

Kedro's SequentialRunner runs a two-node pipeline (fit a logistic regression on a CSV file and
package it as the MLflow model directory; release it to the registry) on a catalog of the
project's own datasets, inside an MLflow run on a SQLite store, with the pipeline hooks called
as KedroSession.run calls them. Seconds, no subprocess: what `kedro lineage` then reads is real.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.framework.hooks import specs
from kedro.io import DataCatalog
from kedro.io.core import generate_timestamp
from kedro.pipeline import Pipeline, node
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset
from pluggy import PluginManager

from ml_on_aws.core.mlflow_models import ModelPackage, ModelRelease, skops_trusted_types
from ml_on_aws.datasets import (
    MlflowModelDirectoryDataset,
    RegisteredModelDataset,
    RunManifestsDataset,
)
from ml_on_aws.datasets.runs import RunCommitHooks
from ml_on_aws.hooks.lineage import LineageHooks

MODEL_NAME = "ml_on_aws_lineage_test"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True)
class LineageRun:
    root: Path
    version: str
    mlflow_run_id: str
    raw_file: Path
    model_dir: Path
    runs_root: Path
    tracking_uri: str


def _package(raw: pd.DataFrame) -> ModelPackage:
    from sklearn.linear_model import LogisticRegression

    features = raw[["income", "age"]]
    model = LogisticRegression().fit(features, raw["good"])
    return ModelPackage(model=model, input_example=features.head(2), signature=None,
                        trusted_types=skops_trusted_types(model), metadata={"task": "classification"})


def _release(package: ModelPackage) -> ModelRelease:
    return ModelRelease(package=package, promote=True, decision={"promote": True, "champion_version": None})


@contextlib.contextmanager
def tracking(root: Path) -> Iterator[str]:
    """MLflow on a SQLite store under ``root`` for the duration (restored afterwards)."""
    import mlflow

    uri = f"sqlite:///{root / 'mlflow.db'}"
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        mlflow.set_tracking_uri(previous)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_with_lineage(root: Path, environ: dict[str, str] | None = None) -> LineageRun:
    """The run, committed; MLflow stays pointed at its store only inside :func:`tracking`."""
    import mlflow

    root.mkdir(parents=True, exist_ok=True)
    raw_file = root / "raw.csv"
    generator = np.random.default_rng(0)
    income = generator.normal(50, 10, 120)
    pd.DataFrame({"income": income, "age": generator.integers(20, 70, 120).astype(float),
                  "good": (income + generator.normal(0, 5, 120) > 50).astype(float)}).to_csv(raw_file, index=False)
    model_dir = root / "data" / "06_models" / "mlflow_model"
    catalog = DataCatalog({
        "raw_data": CSVDataset(filepath=str(raw_file)),
        "mlflow_model": MlflowModelDirectoryDataset(filepath=str(model_dir)),
        "registered_model": RegisteredModelDataset(model_name=MODEL_NAME),
        "run_manifests": RunManifestsDataset(filepath=str(root / "data" / "runs")),
    })
    pipeline = Pipeline([node(_package, "raw_data", "mlflow_model", name="package"),
                         node(_release, "mlflow_model", "registered_model", name="release")])
    manager = PluginManager("kedro")
    for spec in (specs.PipelineSpecs, specs.NodeSpecs, specs.DatasetSpecs, specs.DataCatalogSpecs):
        manager.add_hookspecs(spec)
    manager.register(LineageHooks())
    manager.register(RunCommitHooks())
    version = generate_timestamp()
    run_params: dict[str, Any] = {"run_id": version, "project_path": str(root), "env": "local",
                                  "pipeline_names": ["__default__"]}
    saved_environment = {name: os.environ.get(name) for name in (environ or {})}
    os.environ.update(environ or {})
    try:
        experiment = mlflow.create_experiment(f"lineage-{version}", artifact_location=str(root / "mlartifacts"))
        with mlflow.start_run(experiment_id=experiment) as active:
            manager.hook.after_catalog_created(catalog=catalog, conf_catalog={}, conf_creds={}, parameters={},
                                               save_version=version, load_versions={})
            manager.hook.before_pipeline_run(run_params=run_params, pipeline=pipeline, catalog=catalog)
            result = SequentialRunner().run(pipeline, catalog, manager, run_id=version)
            manager.hook.after_pipeline_run(run_params=run_params, run_result=result, pipeline=pipeline, catalog=catalog)
            run_id = active.info.run_id
    finally:
        for name, value in saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return LineageRun(root=root, version=version, mlflow_run_id=run_id, raw_file=raw_file, model_dir=model_dir,
                      runs_root=root / "data" / "runs", tracking_uri=mlflow.get_tracking_uri())


IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml-on-aws:0123456789ab"
DIGEST = "sha256:" + "ab" * 32
# What a SageMaker training job's container gets from its request (ml_on_aws.sagemaker.requests).
CONTAINER_ENVIRONMENT = {"ML_ON_AWS_GIT_COMMIT": COMMIT, "ML_ON_AWS_CONTAINER_IMAGE": IMAGE,
                         "ML_ON_AWS_CONTAINER_IMAGE_DIGEST": DIGEST}


@contextlib.contextmanager
def committed_run(root: Path) -> Iterator[LineageRun]:
    """:func:`run_with_lineage` as a job in a container would make it, MLflow pointed at its store meanwhile."""
    with tracking(root):
        yield run_with_lineage(root, CONTAINER_ENVIRONMENT)
