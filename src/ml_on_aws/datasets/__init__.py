"""Kedro datasets of the project: scikit-learn objects in skops files, MLflow model directories (versioned, and published in place), the MLflow model registry, and
tables spread over several files (SageMaker channels), an endpoint's data capture files, tables
and files that may be absent, outputs published when a run commits and the run manifests; the run store and commit protocol they stage into (:mod:`.runs`, with its hook);
and :mod:`.internals`, the one module that reads Kedro datasets' private attributes. Part of the ML
core: it imports ``core`` and libraries, no AWS library and no other package of the project."""

from ml_on_aws.datasets.capture_files import CaptureFilesDataset
from ml_on_aws.datasets.mlflow_model import (
    MlflowModelDirectoryDataset,
    MlflowSklearnModelDataset,
    RegisteredModelDataset,
    VersionedModelDataset,
)
from ml_on_aws.datasets.optional import OptionalDataset, OptionalTableDataset
from ml_on_aws.datasets.published import PublishOnCommitDataset, RunManifestsDataset
from ml_on_aws.datasets.skops_file import SkopsDataset
from ml_on_aws.datasets.table_files import TableFilesDataset

__all__ = ["CaptureFilesDataset", "MlflowModelDirectoryDataset", "MlflowSklearnModelDataset", "OptionalDataset",
           "OptionalTableDataset",
           "PublishOnCommitDataset", "RegisteredModelDataset", "RunManifestsDataset", "SkopsDataset", "TableFilesDataset",
           "VersionedModelDataset"]
