"""Check the parameters against the tables' headers before any node runs, and name the files
of what the check nodes find.

Before the first node, reading no more of a table than its header (a CSV file's first line, a
Parquet schema): every parameters section against its schema; an input file that is missing or
empty; the columns the parameters name (target, features, drop columns, derived features); a
test table with the training table's columns; an expectation suite written for this table.

A table's values are checked in the DAG, by the first node of data validation, on the table the
run loads anyway: text the file's encoding cannot decode (a text table is loaded with such bytes
marked, ``ml_on_aws.core.decoding``, not refused by pandas before any node), the target against
the task, then the training and evaluation settings against the task and the target's classes
(``ml_on_aws.pipelines.data_validation.task_checks``). Such a node knows the parameter key or the
catalog entry, not the files: when it fails, this hook names the parameters file that sets the
key, or where the dataset is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.framework.project import settings

from ml_on_aws.core.config import (
    SECTIONS,
    ConfigurationError,
    error_chain,
    parameters_file_for,
    parameters_file_setting,
    parse,
)
from ml_on_aws.core.decoding import MARK_UNDECODABLE, any_undecoded
from ml_on_aws.datasets import internals
from ml_on_aws.datasets.internals import describe_location
from ml_on_aws.pipelines.data_validation.nodes import DataValidationError
from ml_on_aws.pipelines.data_validation.task_checks import KEYS as TASK_KEYS

RAW_DATASET = "raw_data"
# A test table given apart from the training table (pipeline with_test_data).
TEST_DATASET = "test_data"
# Input tables whose headers are read before any node runs.
INPUT_TABLES = (RAW_DATASET, "new_data", TEST_DATASET)
SUITE_DATASET = "expectation_suite"
# How a user makes an input the project does not ship for their data (named when it is missing).
HOW_TO_CREATE_INPUTS = {
    SUITE_DATASET: f"kedro validation init-suite --dataset {RAW_DATASET}",
    "reference_data": "kedro run (training saves the rows the model learned from as the drift reference)",
    "model_reference_data": "kedro run (training saves the rows the model learned from as the drift reference)",
    TEST_DATASET: "your held-out test table, with the columns of raw_data (or run the default pipeline, "
                  "which splits raw_data)",
    "production_reference_data": "a copy of the reference_data.parquet the production model's training wrote",
    "test_predictions": "kedro run (evaluation saves the model's predictions on its test set)",
    "captured_data": "the endpoint's data capture (endpoint.data_capture in conf/<env>/sagemaker.yml writes *.jsonl "
                     "files there), or `python scripts/make_capture_sample.py` for a sample of the bundled data",
}
_DATA_KEYS = ("target", "task", "positive_label", "numeric_features", "categorical_features", "date_features",
              "drop_columns")


@dataclass(frozen=True)
class ParameterFiles:
    """Which parameters file of the run's configuration sets a key."""

    conf_source: Path
    env: str | None

    @classmethod
    def of_run(cls, run_params: dict[str, Any]) -> ParameterFiles:
        return cls(Path(run_params["project_path"]) / settings.CONF_SOURCE, _run_env(run_params))

    def of(self, key: str) -> str:
        if key in TASK_KEYS:
            # A key no file sets (training.clustering) is to be added where the task is set.
            return (parameters_file_setting(key, self.conf_source, self.env)
                    or parameters_file_for("data.task", self.conf_source, self.env))
        return parameters_file_for(key, self.conf_source, self.env)


class ConfigCheckHooks:
    """Stop a misconfigured run before the first node, naming the column and the file; name the
    file of a setting or table that a check node refuses."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        files, env = ParameterFiles.of_run(run_params), _run_env(run_params)
        parsed = {}
        for section, schema in SECTIONS.items():
            if f"params:{section}" not in pipeline.inputs():
                continue
            try:
                parsed[section] = parse(schema, catalog.load(f"params:{section}"), section)
            except ConfigurationError as exc:
                raise ConfigurationError(f"{exc} See {files.of(section)}.") from None
        headers = {name: read_header(catalog[name], name) for name in INPUT_TABLES if name in pipeline.inputs()}
        # A header that did not decode is the check node's to name (with its line), not a missing column.
        columns = {name: names for name, names in headers.items() if names is not None and not any_undecoded(names)}
        if {RAW_DATASET, TEST_DATASET} <= columns.keys():
            check_same_columns(columns[TEST_DATASET], TEST_DATASET, catalog[TEST_DATASET],
                               columns[RAW_DATASET], RAW_DATASET, catalog[RAW_DATASET])
        if RAW_DATASET not in columns or "data" not in parsed:
            return
        if SUITE_DATASET in pipeline.inputs():
            check_suite_describes(catalog, RAW_DATASET, columns[RAW_DATASET], env, Path(run_params["project_path"]))
        check_data_section(parsed["data"], parsed.get("features"), columns[RAW_DATASET], catalog[RAW_DATASET], files)
        # The target's values and the settings that depend on them are data_validation.check_raw_data's.

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], catalog: Any) -> None:
        """Name the parameters file of a setting, or where a dataset is, in the error of a node that
        knew only the key or the catalog entry. Called in the run's own process whatever the runner
        (the session's hook), before `kedro run` or the job's failure file prints the error."""
        files = ParameterFiles.of_run(run_params)
        for cause in error_chain(error):
            if isinstance(cause, ConfigurationError) and cause.setting and cause.file is None:
                cause.file = files.of(cause.setting)
            if isinstance(cause, DataValidationError) and cause.dataset and cause.location is None:
                if cause.dataset in catalog:
                    cause.location = describe_location(catalog[cause.dataset])


def _run_env(run_params: dict[str, Any]) -> str | None:
    return run_params.get("env") or settings.CONFIG_LOADER_ARGS.get("default_run_env")


def check_data_section(data: Any, features: Any, columns: list[str], dataset: Any, files: ParameterFiles) -> None:
    """The data section (and the derived features) against the raw table's header ``columns``."""
    from ml_on_aws.pipelines.feature_engineering.columns import (
        check_config_fits_data,
        check_derived_features,
    )

    where = {f"data.{key}": files.of(f"data.{key}") for key in _DATA_KEYS}
    where["dataset"] = f"dataset '{RAW_DATASET}' ({describe_location(dataset)})"
    check_config_fits_data(columns, None, data, where)
    if features is not None:
        check_derived_features(columns, data, features, files.of("features.derived"))


def init_suite_command(dataset: str, env: str | None, force: bool = False) -> str:
    """The command that writes the suite of ``dataset`` for the run environment ``env``."""
    default_env = settings.CONFIG_LOADER_ARGS.get("default_run_env")
    return (
        f"kedro validation init-suite --dataset {dataset}"
        + (f" --env {env}" if env and env != default_env else "") + (" --force" if force else "")
    )


def check_suite_describes(catalog: Any, name: str, columns: list[str], env: str | None, project_path: Path) -> None:
    """Raise ``ConfigurationError`` when the expectation suite was written for another table.

    A suite that requires few of the table's ``columns`` describes some other data (the bundled
    credit suite after ``raw_data`` was pointed at a new file): say which file and the command
    that rewrites it, instead of failing validation on every column. A table that lost a
    column or two is left to validation, which reports it as a data problem.
    """
    from ml_on_aws.pipelines.data_validation.suite import parse_suite, required_columns

    if not catalog.exists(SUITE_DATASET):
        return  # the missing-input check names the file and HOW_TO_CREATE_INPUTS
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


def check_same_columns(columns: list[str], name: str, dataset: Any,
                       expected: list[str], like_name: str, like: Any) -> None:
    """Raise ``ConfigurationError`` naming the file and the ``expected`` columns (of ``like``) that
    ``columns`` (of ``dataset``) lacks."""
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


def read_header(dataset: Any, name: str) -> list[str] | None:
    """The table's column names from its header alone; None for a dataset that is no table file.

    Raises ``ConfigurationError`` naming the file when there is none or it is empty (pandas cannot
    load it; nothing for a node to check). A delimited text file is set to load with the bytes its
    encoding cannot decode marked (``ml_on_aws.core.decoding``), unless its catalog entry sets
    ``encoding_errors``: the check node then names the line and column of each, instead of pandas
    refusing the whole file at load with an offset into a buffer.
    """
    where = f"Dataset '{name}' ({describe_location(dataset)})"
    try:
        if _table_format(dataset, name) == "text":
            internals.set_default_load_arg(dataset, "encoding_errors", MARK_UNDECODABLE)
        return read_columns(dataset, name)
    except pd.errors.EmptyDataError:
        raise ConfigurationError(f"{where} is empty: no header, no rows.") from None
    except UnicodeDecodeError as exc:  # the catalog entry asks for strict decoding, and the header is not
        encoding = internals.text_read_args(dataset).get("encoding", "utf-8")
        raise ConfigurationError(
            f"{where} is not valid {encoding} ({exc.reason}, line 1); save it as UTF-8 or set "
            f"`load_args: {{encoding: ...}}` for '{name}' in the catalog (e.g. latin-1, cp1252)."
        ) from None


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
