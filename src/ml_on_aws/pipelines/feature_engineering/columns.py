"""Which columns are features, and whether the configuration fits the data at all."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml_on_aws.core.config import ConfigurationError, DataConfig, FeatureConfig
from ml_on_aws.core.dtypes import is_numeric

# A numeric target with more distinct values than this cannot be a classification label.
_MAX_CLASSES = 100


@dataclass(frozen=True)
class FeatureColumns:
    numeric: list[str]
    categorical: list[str]
    dates: list[str]

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical, *self.dates]


def resolve_feature_columns(schema: pd.Series, data: DataConfig) -> FeatureColumns:
    """Feature columns by kind; lists left out of the configuration mean "all other columns".

    ``schema`` maps column name to dtype (``frame.dtypes``).
    """
    excluded = {data.target, *data.drop_columns, *data.date_features} - {None}
    named = set(data.numeric_features or []) | set(data.categorical_features or [])
    candidates = [c for c in schema.index if c not in excluded]
    numeric = data.numeric_features
    if numeric is None:
        numeric = [
            c
            for c in candidates
            if c not in named and is_numeric(schema[c])
        ]
    categorical = data.categorical_features
    if categorical is None:
        taken = set(numeric) | named
        categorical = [c for c in candidates if c not in taken]
    return FeatureColumns(numeric=list(numeric), categorical=list(categorical), dates=list(data.date_features))


def check_config_fits_data(
    columns: list[str], target: pd.Series | None, data: DataConfig, where: dict[str, str]
) -> None:
    """Raise ``ConfigurationError`` naming the column and the file when the parameters do not fit.

    ``columns`` is the table's header; ``target`` its target column (None: only the header is
    checked, as before the first node; the check node passes the whole column). ``where`` maps a
    parameter key (``data.target``...) to the file that sets it (a key it lacks is named as set
    "in the parameters") and has ``dataset`` describing the data (catalog name and path).
    """
    dataset = where.get("dataset", "the raw dataset")
    present = set(columns)

    def fail(key: str, message: str) -> None:
        raise ConfigurationError(message, setting=key, file=where.get(key))

    if data.task in ("classification", "regression") and not data.target:
        fail("data.target", f"Task '{data.task}' needs a target column, and none is set.")
    if data.target and data.target not in present:
        fail(
            "data.target",
            f"Target column '{data.target}' is not in {dataset}; its columns are {sorted(present)}.",
        )
    for key in ("numeric_features", "categorical_features", "date_features", "drop_columns"):
        listed = getattr(data, key) or []
        missing = [c for c in listed if c not in present]
        if missing:
            fail(f"data.{key}", f"Column(s) {missing} named in data.{key} are not in {dataset}.")
        if data.target and data.target in listed and key != "drop_columns":
            fail(f"data.{key}", f"The target '{data.target}' is also listed as a feature in data.{key}.")
    if target is not None and data.target:
        _check_task_fits_target(target.dropna(), data, fail)


def _check_task_fits_target(target: pd.Series, data: DataConfig, fail) -> None:
    name = data.target
    if target.empty:
        fail("data.target", f"Target column '{name}' has no values.")
    distinct = target.nunique()
    if data.task == "regression" and not pd.api.types.is_numeric_dtype(target):
        fail(
            "data.task",
            f"Task 'regression' needs a numeric target, but '{name}' holds text "
            f"(e.g. {target.iloc[:3].tolist()}); use task 'classification'.",
        )
    if data.task == "classification":
        if distinct < 2:
            fail("data.target", f"Target column '{name}' has a single class; classification needs two or more.")
        is_float = pd.api.types.is_float_dtype(target)
        continuous = is_float and not (target.dropna() == target.dropna().round()).all()
        if continuous or (pd.api.types.is_numeric_dtype(target) and distinct > _MAX_CLASSES):
            fail(
                "data.task",
                f"Task 'classification' needs class labels, but '{name}' looks continuous "
                f"({distinct} distinct values); use task 'regression'.",
            )
        if data.positive_label is not None and data.positive_label not in set(target.unique()):
            fail(
                "data.positive_label",
                f"positive_label {data.positive_label!r} is not a value of '{name}' "
                f"(values: {sorted(map(str, target.unique()))[:10]}).{_quote_advice(data.positive_label, target)}",
            )


# What YAML 1.1 (and so Kedro's configuration) reads as a boolean when it is not quoted.
_YAML_BOOLEANS = {True: {"yes", "y", "true", "on"}, False: {"no", "n", "false", "off"}}


def _quote_advice(label: object, target: pd.Series) -> str:
    """A label the user wrote as Yes/No/On/Off arrives as a boolean: tell them to quote it."""
    if not isinstance(label, bool):
        return ""
    spelled = [str(v) for v in target.unique() if str(v).lower() in _YAML_BOOLEANS[label]]
    example = spelled[0] if spelled else ("Yes" if label else "No")
    return (
        f" YAML reads an unquoted {example} as the boolean {label}: quote it, "
        f"positive_label: \"{example}\" (or --params 'data.positive_label=\"{example}\"')."
    )


def check_derived_features(columns: list[str], data: DataConfig, features: FeatureConfig, where: str) -> None:
    """Raise ``ConfigurationError`` when a derived feature uses a column that is not a feature.

    Checked before the first node: the bundled example's derived features name credit columns,
    and a new table otherwise failed only after validation and the split.
    """
    usable = set(columns) - {data.target, *data.drop_columns}
    for spec in features.derived:
        unknown = [c for c in spec.columns if c not in usable]
        if unknown:
            raise ConfigurationError(
                f"Derived feature '{spec.name}' uses column(s) {unknown} that are not features of the table "
                f"(the target, dropped, or absent). Fix or remove it under 'features.derived' in {where} "
                "(`derived: []` for none)."
            )
        if spec.kind in ("ratio", "difference", "product") and len(spec.columns) != 2:
            raise ConfigurationError(
                f"Derived feature '{spec.name}' ({spec.kind}) needs exactly two columns. Fix 'features.derived' in {where}."
            )
