"""Kedro datasets of the project: MLflow model directories, the MLflow model registry, and
tables spread over several files (SageMaker channels)."""

from ml_on_aws.datasets.mlflow_model import (
    MlflowModelDirectoryDataset,
    MlflowSklearnModelDataset,
    RegisteredModelDataset,
)
from ml_on_aws.datasets.table_files import TableFilesDataset

__all__ = ["MlflowModelDirectoryDataset", "MlflowSklearnModelDataset", "RegisteredModelDataset", "TableFilesDataset"]
