"""Project hooks: check the parameters against the data before any node runs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.framework.project import settings

from ml_on_aws.config import (
    SECTIONS,
    ConfigurationError,
    parameters_file_for,
    parameters_file_setting,
    parse,
)
from ml_on_aws.datasets import internals
from ml_on_aws.task_checks import KEYS as TASK_KEYS
from ml_on_aws.task_checks import check_training_fits_task

logger = logging.getLogger(__name__)

RAW_DATASET = "raw_data"
# A test table given apart from the training table (pipeline with_test_data).
TEST_DATASET = "test_data"
# Input tables whose files are checked to be readable before any node runs.
INPUT_TABLES = (RAW_DATASET, "new_data", TEST_DATASET)
SUITE_DATASET = "expectation_suite"
# How a user makes an input the project does not ship for their data (named when it is missing).
HOW_TO_CREATE_INPUTS = {
    SUITE_DATASET: f"kedro validation init-suite --dataset {RAW_DATASET}",
    "reference_data": "kedro run (training saves the rows the model learned from as the drift reference)",
    TEST_DATASET: "your held-out test table, with the columns of raw_data (or run the default pipeline, "
                  "which splits raw_data)",
    "production_reference_data": "a copy of the reference_data.parquet the production model's training wrote",
}
# Enough rows to tell a label from a continuous value without reading a large file twice.
_TARGET_SAMPLE_ROWS = 100_000


class ConfigCheckHooks:
    """Stop a misconfigured run before the first node, naming the column and the file."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        conf_source = Path(run_params["project_path"]) / settings.CONF_SOURCE
        env = run_params.get("env") or settings.CONFIG_LOADER_ARGS.get("default_run_env")
        parsed = {}
        for section, schema in SECTIONS.items():
            if f"params:{section}" not in pipeline.inputs():
                continue
            try:
                parsed[section] = parse(schema, catalog.load(f"params:{section}"), section)
            except ConfigurationError as exc:
                raise ConfigurationError(f"{exc} See {parameters_file_for(section, conf_source, env)}.") from None
        for name in INPUT_TABLES:
            if name in pipeline.inputs():
                check_readable(catalog[name], name)
        if {RAW_DATASET, TEST_DATASET} <= pipeline.inputs():
            check_same_columns(catalog[TEST_DATASET], TEST_DATASET, catalog[RAW_DATASET], RAW_DATASET)
        if RAW_DATASET not in pipeline.inputs() or "data" not in parsed:
            return
        if SUITE_DATASET in pipeline.inputs():
            check_suite_describes(catalog, RAW_DATASET, env, Path(run_params["project_path"]))
        target = self._check_data(parsed["data"], parsed.get("features"), catalog, conf_source, env)
        check_training_fits_task(
            parsed["data"], parsed.get("training"), parsed.get("evaluation"), target,
            # A key no file sets (training.clustering) is to be added where the task is set.
            {key: parameters_file_setting(key, conf_source, env) or parameters_file_for("data.task", conf_source, env)
             for key in TASK_KEYS},
        )

    @staticmethod
    def _check_data(data: Any, features: Any, catalog: Any, conf_source: Path, env: str | None) -> pd.Series | None:
        """Check the data section against the raw table; return a sample of its target."""
        dataset = catalog[RAW_DATASET]
        where = {
            f"data.{key}": parameters_file_for(f"data.{key}", conf_source, env)
            for key in ("target", "task", "positive_label", "numeric_features",
                        "categorical_features", "date_features", "drop_columns")
        }
        where["dataset"] = f"dataset '{RAW_DATASET}' ({describe_location(dataset)})"
        columns = read_columns(dataset)
        if columns is None:
            return None
        target = read_column(dataset, data.target) if data.target in columns else None
        if target is not None and target.empty:
            return None  # a table without rows: data validation names that, it is not a configuration error
        from ml_on_aws.pipelines.feature_engineering.columns import (
            check_config_fits_data,
            check_derived_features,
        )

        check_config_fits_data(columns, target, data, where)
        if features is not None:
            check_derived_features(columns, data, features, parameters_file_for("features.derived", conf_source, env))
        return target


def init_suite_command(dataset: str, env: str | None, force: bool = False) -> str:
    """The command that writes the suite of ``dataset`` for the run environment ``env``."""
    default_env = settings.CONFIG_LOADER_ARGS.get("default_run_env")
    return (
        f"kedro validation init-suite --dataset {dataset}"
        + (f" --env {env}" if env and env != default_env else "") + (" --force" if force else "")
    )


def check_suite_describes(catalog: Any, name: str, env: str | None, project_path: Path) -> None:
    """Raise ``ConfigurationError`` when the expectation suite was written for another table.

    A suite that requires few of the table's columns describes some other data (the bundled
    credit suite after ``raw_data`` was pointed at a new file): say which file and the command
    that rewrites it, instead of failing validation on every column. A table that lost a
    column or two is left to validation, which reports it as a data problem.
    """
    from ml_on_aws.pipelines.data_validation.suite import parse_suite, required_columns

    if not catalog.exists(SUITE_DATASET):
        return  # the missing-input check names the file and HOW_TO_CREATE_INPUTS
    columns = read_columns(catalog[name])
    if columns is None:
        return
    required = required_columns(parse_suite(catalog.load(SUITE_DATASET)), "training")
    missing = [c for c in required if c not in columns]
    if not required or len(missing) * 2 < len(required):
        return
    suite_file = describe_location(catalog[SUITE_DATASET])
    suite_file = str(Path(suite_file).relative_to(project_path)) if Path(suite_file).is_relative_to(project_path) else suite_file
    raise ConfigurationError(
        f"The expectation suite {suite_file} does not describe dataset '{name}' ({describe_location(catalog[name])}): "
        f"{len(missing)} of the {len(required)} columns it requires are not in the table (e.g. {missing[:5]}). "
        f"For a new table, write its suite with `{init_suite_command(name, env, force=True)}`, review it, and run again."
    )


def check_same_columns(dataset: Any, name: str, like: Any, like_name: str) -> None:
    """Raise ``ConfigurationError`` naming the file and the columns of ``like`` that ``dataset`` lacks."""
    columns, expected = read_columns(dataset), read_columns(like)
    if columns is None or expected is None:
        return
    missing = [c for c in expected if c not in columns]
    if missing:
        raise ConfigurationError(
            f"Dataset '{name}' ({header_location(dataset)}) lacks column(s) {missing} of '{like_name}' "
            f"({header_location(like)}); it needs the same columns, the target included."
        )


def header_location(dataset: Any) -> str:
    """The file whose header gave the columns: the first file of a folder of parts."""
    if hasattr(dataset, "files"):  # TableFilesDataset
        return str(dataset.files()[0])
    return describe_location(dataset)


def describe_location(dataset: Any) -> str:
    return internals.location(dataset) or type(dataset).__name__


def check_readable(dataset: Any, name: str) -> None:
    """Raise ``ConfigurationError`` naming the file when a CSV is empty or not in its encoding.

    The whole file is decoded (in chunks, without parsing) for a local CSV: a stray byte far
    down a file otherwise fails the load with an offset into some internal buffer.
    """
    if type(dataset).__name__ != "CSVDataset":
        return
    where = f"Dataset '{name}' ({describe_location(dataset)})"
    encoding = _csv_args(dataset).get("encoding", "utf-8")
    hint = f"set `load_args: {{encoding: ...}}` for '{name}' in the catalog (e.g. latin-1, cp1252)"
    try:
        if getattr(dataset, "_protocol", "file") in ("file", None):
            line = _first_undecodable_line(dataset, encoding)
            if line is not None:
                raise ConfigurationError(f"{where} is not valid {encoding} (line {line}); save it as UTF-8 or {hint}.")
        read_columns(dataset)
    except pd.errors.EmptyDataError:
        raise ConfigurationError(f"{where} is empty: no header, no rows.") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{where} is not valid {encoding} ({exc.reason}); save it as UTF-8 or {hint}.") from None


def _first_undecodable_line(dataset: Any, encoding: str, chunk_bytes: int = 1 << 22) -> int | None:
    """The 1-based line of the first byte ``encoding`` cannot decode, or None when all decode."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with _open(dataset) as stream:
        while chunk := stream.read(chunk_bytes):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines_before + chunk[: max(exc.start, 0)].count(b"\n") + 1
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines_before + 1
    return None


def read_columns(dataset: Any) -> list[str] | None:
    """Column names of a CSV or Parquet dataset without loading it; None for other types."""
    if hasattr(dataset, "read_columns"):  # e.g. TableFilesDataset: a folder of files
        return dataset.read_columns()
    kind = type(dataset).__name__
    if kind == "CSVDataset":
        with _open(dataset) as stream:
            return list(pd.read_csv(stream, nrows=0, **_csv_args(dataset)).columns)
    if kind == "ParquetDataset":
        import pyarrow.parquet as pq

        with _open(dataset) as stream:
            return list(pq.read_schema(stream).names)
    return None


def read_column(dataset: Any, name: str) -> pd.Series | None:
    if hasattr(dataset, "read_column"):
        return dataset.read_column(name, _TARGET_SAMPLE_ROWS)
    kind = type(dataset).__name__
    with _open(dataset) as stream:
        if kind == "CSVDataset":
            args = {**_csv_args(dataset), "usecols": [name], "nrows": _TARGET_SAMPLE_ROWS}
            return pd.read_csv(stream, **args)[name]
        return pd.read_parquet(stream, columns=[name])[name]


def _csv_args(dataset: Any) -> dict[str, Any]:
    keep = ("sep", "delimiter", "encoding", "header", "na_values", "keep_default_na", "decimal", "thousands")
    return {k: v for k, v in getattr(dataset, "_load_args", {}).items() if k in keep}


def _open(dataset: Any):
    from kedro.io.core import get_filepath_str

    path = get_filepath_str(dataset._get_load_path(), dataset._protocol)
    try:
        return dataset._fs.open(path, mode="rb")
    except FileNotFoundError:
        raise ConfigurationError(f"Dataset '{RAW_DATASET}' has no file at {describe_location(dataset)}.") from None


class ReportLocationHooks:
    """Say where the human-readable reports went: the paths are in the catalog, not the logs."""

    _REPORTS_SUFFIX = ("_data_docs", "drift_summary")

    def __init__(self) -> None:
        self._catalog: Any = None

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        self._catalog = catalog

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        if self._catalog is not None and dataset_name.endswith(self._REPORTS_SUFFIX):
            logger.info("Report '%s' (open in a browser): %s", dataset_name, describe_location(self._catalog[dataset_name]))
