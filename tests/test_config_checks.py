"""Before the first node the configuration is checked against the tables' headers only; what used
to be read of the values there (the whole file decoded, a sample of the target) is checked by the
first node of data validation, on the table the run loads anyway (issue 15, item 4).

The hook runs as a session runs it: ``before_pipeline_run``, Kedro's runner, then ``on_pipeline_error``,
which names in a node's error the files the hook knows.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset

from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.datasets import internals
from ml_on_aws.hooks import config_checks
from ml_on_aws.hooks.config_checks import ConfigCheckHooks
from ml_on_aws.pipelines.data_validation import pipeline as validation
from ml_on_aws.pipelines.data_validation.nodes import DataValidationError
from ml_on_aws.settings import CONFIG_LOADER_ARGS
from tests.conftest import PROJECT_ROOT

CHECK_RAW_DATA = validation.create_pipeline().only_nodes("data_validation.check_raw_data")
PARAMETERS_FILE = "conf/base/parameters.yml"


@pytest.fixture(scope="module")
def parameters() -> dict[str, Any]:
    loader = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), env="local", **CONFIG_LOADER_ARGS)
    return loader["parameters"]


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return pd.read_csv(PROJECT_ROOT / "data/01_raw/credit_data.csv")


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return merged


def _catalog(raw_data: Any, parameters: dict[str, Any], **overrides: dict[str, Any]) -> DataCatalog:
    """``raw_data`` and the project's parameters, with keys of ``overrides`` (a section each) replaced."""
    datasets = {f"params:{section}": MemoryDataset(_merge(values, overrides.get(section, {})))
                for section, values in parameters.items()}
    return DataCatalog(datasets={"raw_data": raw_data, **datasets})


RUN_PARAMS = {"project_path": str(PROJECT_ROOT), "env": None}


def _run(catalog: DataCatalog, pipeline=CHECK_RAW_DATA) -> None:
    """``pipeline`` as a Kedro session runs it: the hook's checks, the nodes, the hook on an error."""
    hooks = ConfigCheckHooks()
    hooks.before_pipeline_run(RUN_PARAMS, pipeline, catalog)
    try:
        SequentialRunner().run(pipeline, catalog)
    except Exception as error:
        hooks.on_pipeline_error(error, RUN_PARAMS, catalog)
        raise


class _CountingReads:
    """``internals.open_file`` that counts the bytes read from every file it opens."""

    def __init__(self) -> None:
        self.bytes = 0
        self._open = internals.open_file

    def __call__(self, dataset: Any):
        stream, counter = self._open(dataset), self

        class Counted:
            def __getattr__(self, name: str) -> Any:
                return getattr(stream, name)

            def read(self, size: int = -1) -> bytes:
                data = stream.read(size)
                counter.bytes += len(data)
                return data

            def __enter__(self):
                return self

            def __exit__(self, *exc: Any) -> None:
                stream.close()

        return Counted()


def test_a_bad_byte_far_down_passes_the_hook_reading_the_header_and_stops_the_check_node(
    tmp_path: Path, credit: pd.DataFrame, parameters, monkeypatch
) -> None:
    table = pd.concat([credit] * 10, ignore_index=True)  # about 2.5 MB
    row = len(table) - 7
    table.loc[row, "Home"] = "BAD"
    path = tmp_path / "credit.csv"
    path.write_bytes(table.to_csv(index=False).encode().replace(b"BAD", b"r\xe9nt"))
    reads = _CountingReads()
    monkeypatch.setattr(config_checks.internals, "open_file", reads)
    catalog = _catalog(CSVDataset(filepath=str(path)), parameters)

    ConfigCheckHooks().before_pipeline_run(RUN_PARAMS, CHECK_RAW_DATA, catalog)
    assert 0 < reads.bytes < path.stat().st_size / 4  # the header, not the file

    with pytest.raises(DataValidationError) as error:
        _run(catalog)
    assert str(error.value).startswith(f"Dataset 'raw_data' ({path}) is not valid text in the encoding it is read with")
    assert f"column 'Home': 1 value(s), the first on line {row + 2} ('r\ufffdnt')" in str(error.value)
    assert "set `load_args: {encoding: ...}` for 'raw_data' in the catalog" in str(error.value)


def test_a_header_that_does_not_decode_is_named_by_its_line_not_as_missing_columns(tmp_path, credit, parameters):
    path = tmp_path / "credit.csv"
    path.write_bytes(credit.head(50).to_csv(index=False).encode().replace(b"Status", b"St\xe4tus", 1))
    with pytest.raises(DataValidationError, match=r"column 'St\ufffdtus': the column name on line 1 \('St\ufffdtus'\)"):
        _run(_catalog(CSVDataset(filepath=str(path)), parameters))


def test_an_empty_file_stops_before_the_first_node(tmp_path, parameters):
    (tmp_path / "credit.csv").write_bytes(b"")
    with pytest.raises(ConfigurationError, match=r"^Dataset 'raw_data' \(.*credit\.csv\) is empty: no header, no rows\.$"):
        ConfigCheckHooks().before_pipeline_run(
            RUN_PARAMS, CHECK_RAW_DATA,
            _catalog(CSVDataset(filepath=str(tmp_path / "credit.csv")), parameters),
        )


def test_a_column_the_parameters_name_is_still_checked_before_the_first_node(credit, parameters):
    catalog = _catalog(CSVDataset(filepath=str(PROJECT_ROOT / "data/01_raw/credit_data.csv")), parameters,
                       data={"target": "Outcome"})
    with pytest.raises(ConfigurationError, match=rf"'Outcome' is not in dataset 'raw_data' \(.*credit_data\.csv\).*"
                                                 rf"Fix 'data.target' in {PARAMETERS_FILE}\.$"):
        ConfigCheckHooks().before_pipeline_run(RUN_PARAMS, CHECK_RAW_DATA, catalog)


# What the hook once read a sample of the target for: each now passes the hook and stops the check
# node with the message the hook gave, the parameters file included.
TARGET_CHECKS = [
    ({"data": {"task": "regression", "positive_label": None}},
     "Task 'regression' needs a numeric target, but 'Status' holds text", "data.task"),
    ({"data": {"positive_label": "maybe"}}, "positive_label 'maybe' is not a value of 'Status'", "data.positive_label"),
    ({"data": {"target": "Income", "positive_label": None}},
     "Task 'classification' needs class labels, but 'Income' looks continuous", "data.task"),
    ({"data": {"target": "Home", "positive_label": None}, "training": {"search": {"scoring": "roc_auc"}},
      "evaluation": {"quality_gate": {"metric": "accuracy"}}},
     "cannot score this 6-class classification", "training.search.scoring"),
    ({"data": {"target": "Home", "positive_label": None},
      "evaluation": {"quality_gate": {"metric": "f1"}}},
     "Quality-gate metric 'f1' is not computed for 6-class classification", "evaluation.quality_gate.metric"),
    ({"data": {"task": "clustering", "target": None, "positive_label": None}},
     "Task 'clustering' needs training.clustering.candidates", "training.clustering"),
]


@pytest.mark.parametrize(("overrides", "message", "key"), TARGET_CHECKS)
def test_what_the_target_s_values_decide_is_checked_by_the_first_node(parameters, credit, overrides, message, key):
    catalog = _catalog(MemoryDataset(credit), parameters, **overrides)
    hooks = ConfigCheckHooks()
    hooks.before_pipeline_run(RUN_PARAMS, CHECK_RAW_DATA, catalog)  # passes
    with pytest.raises(ConfigurationError) as error:
        _run(catalog)
    assert message in str(error.value)
    assert str(error.value).endswith(f"Fix '{key}' in {PARAMETERS_FILE}.")


def test_a_node_s_error_without_the_hook_names_the_key_and_the_dataset():
    assert str(ConfigurationError("Target column 'y' has no values.", setting="data.target")) == (
        "Target column 'y' has no values. Fix 'data.target' in the parameters.")
    assert str(DataValidationError("is empty.", dataset="new_data")) == "Dataset 'new_data' is empty."


def test_the_named_files_survive_pickling_as_a_parallel_runner_returns_errors():
    located = ConfigurationError("Bad.", setting="data.task", file=PARAMETERS_FILE)
    assert str(pickle.loads(pickle.dumps(located))) == str(located) == f"Bad. Fix 'data.task' in {PARAMETERS_FILE}."
    table = DataValidationError("is empty.", dataset="new_data", location="data/new.csv")
    assert str(pickle.loads(pickle.dumps(table))) == "Dataset 'new_data' (data/new.csv) is empty."
