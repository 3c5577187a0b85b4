"""Kedro datasets of the project: MLflow model directories (versioned, and published in place), the MLflow model registry, and
tables spread over several files (SageMaker channels), outputs published when a run commits and
the run manifests."""

from ml_on_aws.datasets.mlflow_model import (
    MlflowModelDirectoryDataset,
    MlflowSklearnModelDataset,
    RegisteredModelDataset,
    VersionedModelDataset,
)
from ml_on_aws.datasets.published import PublishOnCommitDataset, RunManifestsDataset
from ml_on_aws.datasets.table_files import TableFilesDataset

__all__ = ["MlflowModelDirectoryDataset", "MlflowSklearnModelDataset", "PublishOnCommitDataset", "RegisteredModelDataset",
           "RunManifestsDataset", "TableFilesDataset", "VersionedModelDataset"]
