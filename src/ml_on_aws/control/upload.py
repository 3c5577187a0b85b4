"""Copy the pipeline's input files from one environment's catalog to another's (e.g. to S3).

``kedro data upload`` uses it so that a user can try ``kedro run --env aws`` right after setting
the bucket and prefix: the bundled raw data goes where the aws catalog expects it (conf/aws/globals.yml). The files
are copied byte for byte, so the format (CSV, Parquet, ...) stays what the catalog says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.project import pipelines, settings

from ml_on_aws.core.config import project_config_loader
from ml_on_aws.datasets import internals
from ml_on_aws.hooks.s3_checks import catalog_datasets, check_s3_datasets


@dataclass(frozen=True)
class Transfer:
    dataset: str
    source: str
    target: str
    copied: bool  # False: the target existed and was kept


def load_catalog(project_path: Path, env: str) -> Any:
    """The data catalog of ``env`` as Kedro builds it, without starting a session or hooks."""
    loader = project_config_loader(project_path, env)
    try:
        credentials = loader["credentials"]
    except MissingConfigException:  # no credentials files: the AWS chain provides them
        credentials = {}
    return settings.DATA_CATALOG_CLASS.from_config(loader["catalog"], credentials)


def upload_inputs(
    project_path: Path,
    env: str = "aws",
    source_env: str = "local",
    pipeline_name: str = "__default__",
    overwrite: bool = False,
) -> list[Transfer]:
    """Copy each input file of ``source_env`` to where ``env`` reads it; keep existing targets."""
    source_catalog = load_catalog(project_path, source_env)
    target_catalog = load_catalog(project_path, env)
    # What the pipeline reads but does not produce: what must exist before a run.
    inputs = sorted(pipelines[pipeline_name].inputs())
    # Only files the target environment keeps remotely: the model registry (MLflow) and
    # configuration read from conf/ (the expectation suite) are not data to upload.
    names = [
        name for name, dataset in catalog_datasets(target_catalog, inputs)
        if name in source_catalog and internals.is_remote(dataset)
    ]
    check_s3_datasets(target_catalog, names)
    transfers = []
    for name in names:
        source, target = source_catalog[name], target_catalog[name]
        source_path = _path(source, name, source_env)
        _path(target, name, env)  # the target too is one unversioned file
        if internals.is_remote(source):
            raise ValueError(f"Dataset '{name}' of environment '{source_env}' is not a local file ({source_path}).")
        local = Path(source_path) if Path(source_path).is_absolute() else project_path / source_path
        if not local.exists():
            raise FileNotFoundError(f"Dataset '{name}': no file {local} to upload (environment '{source_env}').")
        target_uri = internals.location(target)
        if target.exists() and not overwrite:
            transfers.append(Transfer(name, str(local), target_uri, copied=False))
            continue
        internals.put_file(target, str(local))
        transfers.append(Transfer(name, str(local), target_uri, copied=True))
    return transfers


def _path(dataset: Any, name: str, env: str) -> str:
    if internals.filepath(dataset) is None:
        raise ValueError(f"Dataset '{name}' of environment '{env}' is not stored in a file.")
    if internals.is_versioned(dataset):
        raise ValueError(f"Dataset '{name}' of environment '{env}' is versioned; inputs to upload are not.")
    return internals.filepath(dataset)
