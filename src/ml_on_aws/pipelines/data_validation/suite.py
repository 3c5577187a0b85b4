"""The expectation suite as a person reads it: a YAML file of Great Expectations expectations.

Each entry is ``{type, kwargs, severity, applies_to}``: ``type`` and ``kwargs`` are a Great
Expectations 1.x expectation (``expect_column_values_to_be_between`` ...), ``severity`` is
``critical`` (stops the run) or ``warning`` (logged and reported), ``applies_to`` lists the data
it checks: ``training`` (the table with the target) and/or ``new_data`` (rows to score).
This module has no Great Expectations import: writing and reading a suite stays fast.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ml_on_aws.core.config import ConfigurationError, DataConfig, problems
from ml_on_aws.core.dtypes import is_numeric

Role = Literal["training", "new_data"]
BOTH: list[Role] = ["training", "new_data"]
NUMERIC_TYPES = ["int64", "float64"]  # an integer column with a missing value is read as float


class SuiteEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["critical", "warning"] = "critical"
    applies_to: list[Role] = Field(default_factory=lambda: list(BOTH), min_length=1)
    notes: str | None = None


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    expectations: list[SuiteEntry] = Field(min_length=1)


def parse_suite(content: dict[str, Any] | None) -> Suite:
    """The suite file's content, checked; a wrong entry is named by its position."""
    from pydantic import ValidationError

    try:
        return Suite.model_validate(content or {})
    except ValidationError as exc:
        raise ConfigurationError(f"Invalid expectation suite ({'; '.join(problems(exc))}).") from None


def entries_for(suite: Suite, role: Role, unused_columns: set[str] | frozenset[str] = frozenset()) -> list[SuiteEntry]:
    """The entries that check ``role``; for new data, none that requires ``unused_columns``
    (the target and ``data.drop_columns``: rows to score need only the columns the model reads)."""
    entries = [entry for entry in suite.expectations if role in entry.applies_to]
    if role != "new_data" or not unused_columns:
        return entries
    return [_without_columns(entry, unused_columns) for entry in entries if entry.kwargs.get("column") not in unused_columns]


def _without_columns(entry: SuiteEntry, columns: set[str] | frozenset[str]) -> SuiteEntry:
    if "column_set" not in entry.kwargs:
        return entry
    kept = [c for c in entry.kwargs["column_set"] if c not in columns]
    # The unused columns may be there or not: only the model's columns must be.
    return entry.model_copy(update={"kwargs": {**entry.kwargs, "column_set": kept, "exact_match": False}})


def unused_by_model(data: DataConfig) -> set[str]:
    """Columns the model never reads: rows to score may lack them."""
    return {c for c in (data.target, *data.drop_columns) if c}


def required_columns(suite: Suite, role: Role) -> list[str]:
    """The columns whose absence is a critical failure for ``role``."""
    return [
        entry.kwargs["column"] for entry in entries_for(suite, role)
        if entry.type == "expect_column_to_exist" and entry.severity == "critical" and "column" in entry.kwargs
    ]


_ROW_COUNT = "expect_table_row_count_to_be_between"


def entries_for_test_set(suite: Suite) -> list[SuiteEntry]:
    """The expectations of a test table held out apart from the training table: the training
    ones (it has the target too) but any number of rows from one, as the suite's row counts
    are how many rows there must be to train on."""
    has_rows = SuiteEntry(type=_ROW_COUNT, kwargs={"min_value": 1}, notes="No rows to test on.")
    return [has_rows, *(entry for entry in entries_for(suite, "training") if entry.type != _ROW_COUNT)]


def build_suite(
    frame: pd.DataFrame,
    data: DataConfig,
    name: str,
    max_categories: int = 50,
    null_tolerance: float = 0.02,
) -> Suite:
    """A starting suite describing ``frame`` (a reference table with the target, if any).

    What breaks the model is critical (missing columns, wrong types, a column of nulls, no rows,
    unknown target labels); what the model copes with but a person should see is a warning
    (extra columns, more nulls, values outside the reference range, unseen categories).
    """
    if frame.empty:
        raise ConfigurationError(f"Cannot build suite '{name}' from an empty table.")
    target = data.target if data.target in frame.columns else None
    unused = unused_by_model(data)
    model_columns = [c for c in frame.columns if c not in unused]
    rows = len(frame)
    entries: list[SuiteEntry] = [
        SuiteEntry(
            type="expect_table_row_count_to_be_between",
            kwargs={"min_value": max(1, rows // 10)},
            applies_to=["training"],
            notes="Too few rows to train on.",
        ),
        SuiteEntry(type="expect_table_row_count_to_be_between", kwargs={"min_value": 1}, applies_to=["new_data"]),
        SuiteEntry(
            type="expect_table_columns_to_match_set",
            kwargs={"column_set": list(frame.columns), "exact_match": True},
            severity="warning",
            applies_to=["training"],
            notes="Extra columns are ignored by the model.",
        ),
        SuiteEntry(
            type="expect_table_columns_to_match_set",
            kwargs={"column_set": model_columns, "exact_match": False},
            severity="warning",
            applies_to=["new_data"],
            notes="The columns the model reads; the target and data.drop_columns may be absent.",
        ),
    ]
    for column in frame.columns:
        roles: list[Role] = ["training"] if column in unused else list(BOTH)
        entries += _column_entries(frame[column], roles, column == target, data, max_categories, null_tolerance)
    return Suite(name=name, expectations=entries)


def _column_entries(
    values: pd.Series,
    roles: list[Role],
    is_target: bool,
    data: DataConfig,
    max_categories: int,
    null_tolerance: float,
) -> list[SuiteEntry]:
    column = str(values.name)
    numeric = is_numeric(values)
    entries = [SuiteEntry(type="expect_column_to_exist", kwargs={"column": column}, applies_to=roles)]
    if numeric:
        entries.append(
            SuiteEntry(type="expect_column_values_to_be_in_type_list", kwargs={"column": column, "type_list": NUMERIC_TYPES}, applies_to=roles)
        )
    else:
        entries.append(SuiteEntry(type="expect_column_type_to_be", kwargs={"column": column, "type_": str(values.dtype)}, applies_to=roles))

    present = 1.0 - float(values.isna().mean())
    if present > 0 and not is_target:
        entries.append(
            SuiteEntry(
                type="expect_column_values_to_not_be_null",
                kwargs={"column": column, "mostly": _floor(present / 2)},
                applies_to=roles,
                notes="Fewer than half the reference share of values: the column is (nearly) empty.",
            )
        )
    if present > 0:
        # Rows without a target are dropped before training: more of them is worth a look, not a stop.
        entries.append(
            SuiteEntry(
                type="expect_column_values_to_not_be_null",
                kwargs={"column": column, "mostly": _floor(max(present - null_tolerance, 0.0))},
                severity="warning",
                applies_to=roles,
            )
        )

    observed = values.dropna()
    if observed.empty:
        return entries
    if numeric:
        entries.append(
            SuiteEntry(
                type="expect_column_values_to_be_between",
                kwargs={"column": column, "min_value": _plain(observed.min()), "max_value": _plain(observed.max())},
                severity="warning",
                applies_to=roles,
            )
        )
        if is_target and data.task == "classification":
            entries.append(_allowed_values(observed, column, roles, "critical"))
    elif observed.nunique() <= max_categories:
        entries.append(_allowed_values(observed, column, roles, "critical" if is_target else "warning"))
    return entries


def _allowed_values(observed: pd.Series, column: str, roles: list[Role], severity: str) -> SuiteEntry:
    values = sorted({_plain(v) for v in observed.unique()}, key=str)
    return SuiteEntry(
        type="expect_column_values_to_be_in_set",
        kwargs={"column": column, "value_set": values},
        severity=severity,
        applies_to=roles,
    )


def _plain(value: Any) -> Any:
    """A YAML-friendly Python scalar (numpy scalars do not round-trip through safe YAML)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _floor(share: float) -> float:
    """Round a share down, so that the reference itself passes."""
    return math.floor(share * 1000) / 1000


def suite_to_yaml(suite: Suite, header: str) -> str:
    """The suite as commented YAML, one expectation per block, for review and editing."""
    import yaml

    body = yaml.safe_dump(
        suite.model_dump(mode="json", exclude_none=True), sort_keys=False, default_flow_style=None, width=110
    )
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comments + body
