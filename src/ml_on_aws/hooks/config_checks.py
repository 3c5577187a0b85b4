"""Check the parameters against the data before any node runs, reading only what they need (headers, a sample of the target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.framework.project import settings

from ml_on_aws.core.config import (
    SECTIONS,
    ConfigurationError,
    parameters_file_for,
    parameters_file_setting,
    parse,
)
from ml_on_aws.datasets import internals
from ml_on_aws.datasets.internals import describe_location
from ml_on_aws.hooks.task_checks import KEYS as TASK_KEYS
from ml_on_aws.hooks.task_checks import check_training_fits_task

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
    "test_predictions": "kedro run (evaluation saves the model's predictions on its test set)",
    "captured_data": "the endpoint's data capture (endpoint.data_capture in conf/<env>/sagemaker.yml writes *.jsonl "
                     "files there), or `python scripts/make_capture_sample.py` for a sample of the bundled data",
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
        columns = read_columns(dataset, RAW_DATASET)
        if columns is None:
            return None
        target = read_column(dataset, data.target, RAW_DATASET) if data.target in columns else None
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
    columns = read_columns(catalog[name], name)
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
    columns, expected = read_columns(dataset, name), read_columns(like, like_name)
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


def check_readable(dataset: Any, name: str) -> None:
    """Raise ``ConfigurationError`` naming the file when a text table is empty or not in its encoding.

    The whole file is decoded (in chunks, without parsing) for a local text file: a stray byte far
    down a file otherwise fails the load with an offset into some internal buffer.
    """
    if not internals.is_file_based(dataset):
        return
    where = f"Dataset '{name}' ({describe_location(dataset)})"
    encoding = internals.text_read_args(dataset).get("encoding", "utf-8")
    hint = f"set `load_args: {{encoding: ...}}` for '{name}' in the catalog (e.g. latin-1, cp1252)"
    try:
        if _table_format(dataset, name) != "text":
            return
        if not internals.is_remote(dataset):
            line = _first_undecodable_line(dataset, name, encoding)
            if line is not None:
                raise ConfigurationError(f"{where} is not valid {encoding} (line {line}); save it as UTF-8 or {hint}.")
        read_columns(dataset, name)
    except pd.errors.EmptyDataError:
        raise ConfigurationError(f"{where} is empty: no header, no rows.") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{where} is not valid {encoding} ({exc.reason}); save it as UTF-8 or {hint}.") from None


def _first_undecodable_line(dataset: Any, name: str, encoding: str, chunk_bytes: int = 1 << 22) -> int | None:
    """The 1-based line of the first byte ``encoding`` cannot decode, or None when all decode."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with _open(dataset, name) as stream:
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


def read_columns(dataset: Any, name: str | None = None) -> list[str] | None:
    """Column names of a table without loading it (a Parquet or delimited text file, or a dataset
    that reads its own columns); None for a dataset of another kind."""
    if hasattr(dataset, "read_columns"):  # e.g. TableFilesDataset: a folder of files
        return dataset.read_columns()
    kind = _table_format(dataset, name)
    if kind is None:
        return None
    with _open(dataset, name) as stream:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(stream).names)
        return list(pd.read_csv(stream, nrows=0, **internals.text_read_args(dataset)).columns)


def read_column(dataset: Any, column: str, name: str | None = None) -> pd.Series | None:
    if hasattr(dataset, "read_column"):
        return dataset.read_column(column, _TARGET_SAMPLE_ROWS)
    kind = _table_format(dataset, name)
    if kind is None:
        return None
    with _open(dataset, name) as stream:
        if kind == "text":
            args = {**internals.text_read_args(dataset), "usecols": [column], "nrows": _TARGET_SAMPLE_ROWS}
            return pd.read_csv(stream, **args)[column]
        return pd.read_parquet(stream, columns=[column])[column]


# Suffixes of delimited text files; any other file is a table only if it is Parquet.
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".psv")


def _table_format(dataset: Any, name: str | None) -> str | None:
    """``parquet`` or ``text`` for a file-based table, by its content and name; None otherwise."""
    if not internals.is_file_based(dataset):
        return None
    with _open(dataset, name) as stream:
        if internals.is_parquet(stream):
            return "parquet"
    path = (internals.load_path(dataset) or "").lower()
    text_args = {"sep", "delimiter"} & set(internals.load_args(dataset))
    return "text" if path.endswith(_TEXT_SUFFIXES) or text_args else None


def _open(dataset: Any, name: str | None):
    try:
        return internals.open_file(dataset)
    except FileNotFoundError:
        which = f"Dataset '{name}'" if name else "The dataset"
        raise ConfigurationError(f"{which} has no file at {describe_location(dataset)}.") from None
