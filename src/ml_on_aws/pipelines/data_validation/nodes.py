"""Check that a raw table decodes and fits the parameters, validate it against its expectation
suite, and stop the run on critical failures."""

from __future__ import annotations

import logging
from typing import Any, Literal

import pandas as pd

from ml_on_aws.core.config import (
    DataConfig,
    EvaluationConfig,
    TrainingConfig,
    UserFixableError,
    ValidationConfig,
    parse,
)
from ml_on_aws.pipelines.data_validation.decoding import undecodable_cells
from ml_on_aws.pipelines.data_validation.expectations import (
    data_docs_html,
    jsonable,
    validate_frame,
)
from ml_on_aws.pipelines.data_validation.suite import (
    Role,
    entries_for,
    entries_for_test_set,
    parse_suite,
    unused_by_model,
)
from ml_on_aws.pipelines.data_validation.task_checks import check_training_fits_task
from ml_on_aws.pipelines.feature_engineering.columns import check_config_fits_data

logger = logging.getLogger(__name__)


class DataValidationError(UserFixableError, ValueError):
    """The data broke a critical expectation or cannot be read as it is; nothing after validation
    may run on it.

    With ``dataset`` (a catalog name) the message follows "Dataset '<name>' (<location>)": a node
    knows the catalog entry, not where it is stored (``location`` None leaves it out);
    ``ml_on_aws.hooks.config_checks`` names the location when the run stops on it.
    """

    def __init__(self, message: str, dataset: str | None = None, location: str | None = None) -> None:
        super().__init__(message)
        self.message, self.dataset, self.location = message, dataset, location

    def __str__(self) -> str:
        if self.dataset is None:
            return self.message
        where = f" ({self.location})" if self.location else ""
        return f"Dataset '{self.dataset}'{where} {self.message}"


def check_training_data(
    raw_data: pd.DataFrame, data_params: dict[str, Any], training_params: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> pd.DataFrame:
    """The training table unchanged when it decodes and its target fits the parameters.

    The header's checks ran before the first node (the columns the parameters name); here, on the
    loaded table: undecodable text, then the target's values against the task (a numeric target
    for regression, labels for classification, ``data.positive_label`` among them) and the
    settings that depend on them (the search scorer, the quality-gate metric for this number of
    classes). Each failure names the column or the parameter key.
    """
    check_decoded(raw_data, "raw_data")
    data = parse(DataConfig, data_params, "data")
    has_target = bool(data.target) and data.target in raw_data.columns and not raw_data.empty
    target = raw_data[data.target] if has_target else None  # no rows: validation names that, not a setting
    check_config_fits_data(list(raw_data.columns), target, data, {"dataset": "dataset 'raw_data'"})
    training = parse(TrainingConfig, training_params, "training")
    evaluation = parse(EvaluationConfig, evaluation_params, "evaluation")
    check_training_fits_task(data, training, evaluation, target, {})
    return raw_data


def check_new_data(new_data: pd.DataFrame) -> pd.DataFrame:
    """The rows to score unchanged when their text decodes."""
    check_decoded(new_data, "new_data")
    return new_data


def check_test_data(test_data: pd.DataFrame) -> pd.DataFrame:
    """A test table given apart, unchanged when its text decodes."""
    check_decoded(test_data, "test_data")
    return test_data


def check_decoded(frame: pd.DataFrame, dataset: str) -> None:
    """Raise ``DataValidationError`` naming each column (and its first line) that holds text the
    file's encoding could not decode; nothing when every value and column name decoded."""
    found = undecodable_cells(frame)
    if not found:
        return
    raise DataValidationError(
        f"is not valid text in the encoding it is read with (utf-8 unless its catalog entry sets one): "
        f"{'; '.join(undecoded.describe() for undecoded in found)}. Save the file as UTF-8, or set "
        f"`load_args: {{encoding: ...}}` for '{dataset}' in the catalog (e.g. latin-1, cp1252).",
        dataset=dataset,
    )


def validate_training_data(
    raw_data: pd.DataFrame, expectation_suite: dict[str, Any], validation_params: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Report and Data Docs page of the training table (with its target) against the suite."""
    return _validate(raw_data, expectation_suite, validation_params, dataset="raw_data", role="training")


def validate_new_data(
    new_data: pd.DataFrame, expectation_suite: dict[str, Any], validation_params: dict[str, Any],
    data_params: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """Report and Data Docs page of the rows to score; expectations on the target and on
    ``data.drop_columns`` do not apply (the model reads neither), whatever the suite says."""
    unused = unused_by_model(parse(DataConfig, data_params, "data")) if data_params else set()
    return _validate(new_data, expectation_suite, validation_params, dataset="new_data", role="new_data",
                     unused_columns=unused)


def validate_test_data(
    test_data: pd.DataFrame, expectation_suite: dict[str, Any], validation_params: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Report and Data Docs page of a test table held out apart from the training table: the
    training expectations, except that any number of rows from one will do."""
    return _validate(test_data, expectation_suite, validation_params, dataset="test_data", role="test")


def _validate(
    frame: pd.DataFrame, suite_content: dict[str, Any], params: dict[str, Any], dataset: str,
    role: Role | Literal["test"], unused_columns: set[str] | frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], str]:
    settings = parse(ValidationConfig, params, "validation")
    suite = parse_suite(suite_content)
    entries = entries_for_test_set(suite) if role == "test" else entries_for(suite, role, unused_columns)
    outcomes, result = validate_frame(frame, entries, dataset, settings.example_values, settings.observe_passing)
    # A missing column fails every expectation on it; report it once, as missing.
    missing = {o["column"] for o in outcomes if o["expectation"] == "expect_column_to_exist" and not o["success"]}
    for outcome in outcomes:
        if outcome["column"] in missing and outcome["expectation"] != "expect_column_to_exist":
            outcome.update(success=None, skipped="column missing")
    for outcome in outcomes:
        _quote_values_of_wrong_type(outcome, frame, settings.example_values)
    failed = [o for o in outcomes if o["success"] is False]
    critical = [o for o in failed if o["severity"] == "critical"]
    report = {
        "dataset": dataset,
        "suite": suite.name,
        "checked_as": role,
        "rows": len(frame),
        "columns": len(frame.columns),
        "passed": not critical,
        "statistics": {
            "expectations": len(outcomes),
            "failed_critical": len(critical),
            "failed_warning": len(failed) - len(critical),
        },
        "critical_failures": critical,
        "warnings": [o for o in failed if o["severity"] != "critical"],
        "results": outcomes,
    }
    return report, data_docs_html(result)


_TYPE_EXPECTATIONS = ("expect_column_values_to_be_in_type_list", "expect_column_type_to_be")


def _quote_values_of_wrong_type(outcome: dict[str, Any], frame: pd.DataFrame, limit: int) -> None:
    """A failed numeric type check, with how many values are not numbers and some of them.

    Great Expectations checks the column's type as a whole and names only the type it saw.
    """
    column = outcome.get("column")
    if outcome["success"] is not False or outcome["expectation"] not in _TYPE_EXPECTATIONS or column not in frame:
        return
    expected = outcome["kwargs"].get("type_list") or [outcome["kwargs"].get("type_")]
    if not any(str(t).startswith(("int", "float")) for t in expected):
        return
    values = frame[column]
    not_numbers = values[values.notna() & pd.to_numeric(values, errors="coerce").isna()]
    outcome.update(
        unexpected_count=len(not_numbers), element_count=len(values),
        examples=jsonable(list(pd.unique(not_numbers))[:limit]),
    )


def stop_on_critical_failures(frame: pd.DataFrame, report: dict[str, Any]) -> pd.DataFrame:
    """``frame`` unchanged when no critical expectation failed; else raise, naming each failure.

    A separate node from the validation itself, so that the report and Data Docs of a failed
    validation are saved before the run stops.
    """
    for warning in report["warnings"]:
        logger.warning("Dataset '%s': %s", report["dataset"], describe_failure(warning, report["rows"]))
    if report["critical_failures"]:
        lines = "\n".join(f"  - {describe_failure(f, report['rows'])}" for f in report["critical_failures"])
        # New data lacking a column is the data's fault; a training table's columns may have changed on purpose.
        missing = report["dataset"] != "new_data" and any(
            f["expectation"] == "expect_column_to_exist" for f in report["critical_failures"]
        )
        hint = (
            "\nIf the table's columns changed on purpose, rewrite the suite (catalog entry 'expectation_suite') "
            "with: kedro validation init-suite --dataset raw_data --force" if missing else ""
        )
        raise DataValidationError(
            f"Dataset '{report['dataset']}' failed {len(report['critical_failures'])} critical expectation(s) "
            f"of suite '{report['suite']}'; nothing downstream ran:\n{lines}{hint}"
        )
    logger.info(
        "Dataset '%s' passed %d expectations (%d warning(s)).",
        report["dataset"], report["statistics"]["expectations"], len(report["warnings"]),
    )
    return frame


def describe_failure(outcome: dict[str, Any], rows: int) -> str:
    """One line: column, expectation and its arguments, how many rows failed and some of their values."""
    where = f"column '{outcome['column']}'" if outcome.get("column") else "table"
    arguments = {k: v for k, v in outcome["kwargs"].items() if k != "column"}
    text = f"{where}: {outcome['expectation']} {arguments}"
    if outcome["expectation"] == "expect_column_to_exist":
        return f"{where} is missing"
    if outcome.get("error"):
        return f"{text} could not be checked: {outcome['error']}"
    if outcome.get("unexpected_count") is not None:
        observed = outcome.get("observed_value")
        text += f": observed {observed!r};" if observed is not None else ":"
        text += f" {outcome['unexpected_count']} of {outcome.get('element_count', rows)} rows failed"
        if outcome.get("examples"):
            text += f", e.g. {outcome['examples']}"
        return text
    return f"{text}: observed {outcome.get('observed_value')!r}"
