"""Kedro datasets of the project: MLflow model directories and the MLflow model registry."""

from ml_on_aws.datasets.mlflow_model import MlflowModelDirectoryDataset, RegisteredModelDataset

__all__ = ["MlflowModelDirectoryDataset", "RegisteredModelDataset"]
