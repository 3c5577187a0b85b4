"""scikit-learn transformers that make type coercion and derived features part of the model.

They live inside the fitted ``Pipeline`` so that batch inference and the prediction server
apply exactly the transforms used in training, from raw columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

from ml_on_aws.core.config import DerivedFeature, FeatureConfig
from ml_on_aws.core.dtypes import is_numeric
from ml_on_aws.pipelines.feature_engineering.columns import FeatureColumns


class MissingColumnsError(ValueError):
    """The frame given to the model lacks columns the model was trained on."""

    def __init__(self, missing: Sequence[str]):
        self.missing = list(missing)
        super().__init__(f"Missing column(s): {', '.join(self.missing)}")


class ColumnTypes(TransformerMixin, BaseEstimator):
    """Select the feature columns and coerce each to its kind: numeric, categorical or date.

    Text that is not a number becomes missing in a numeric column (validation reports it
    before training); categories become strings so that ``1`` and ``"1"`` are one category.
    """

    def __init__(self, numeric: Sequence[str] = (), categorical: Sequence[str] = (), dates: Sequence[str] = ()):
        self.numeric = numeric
        self.categorical = categorical
        self.dates = dates

    def fit(self, X: pd.DataFrame, y: Any = None) -> ColumnTypes:
        self._check_columns(X)
        self.feature_names_in_ = np.asarray(self._columns(), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check_columns(X)
        out = {}
        for name in self.numeric:
            out[name] = as_numeric(X[name])
        for name in self.categorical:
            out[name] = as_category(X[name])
        for name in self.dates:
            out[name] = pd.to_datetime(X[name], errors="coerce")
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self._columns(), dtype=object)

    def _columns(self) -> list[str]:
        return [*self.numeric, *self.categorical, *self.dates]

    def _check_columns(self, X: pd.DataFrame) -> None:
        missing = [c for c in self._columns() if c not in X.columns]
        if missing:
            raise MissingColumnsError(missing)


def as_numeric(column: pd.Series) -> pd.Series:
    """A numeric feature as float64: text that is not a number, and booleans' absence of order, become missing."""
    return (
        column if is_numeric(column)
        else pd.to_numeric(column, errors="coerce")
    ).astype("float64", copy=False)


def as_category(column: pd.Series) -> pd.Series:
    """A categorical feature as text (``1`` and ``"1"`` are one category), missing values as NaN."""
    return column.astype(str).where(column.notna(), np.nan).astype(object)


class DerivedFeatures(TransformerMixin, BaseEstimator):
    """Add the features declared under ``features.derived`` in the parameters."""

    def __init__(self, derived: Sequence[dict[str, Any]] = ()):
        self.derived = derived

    def fit(self, X: pd.DataFrame, y: Any = None) -> DerivedFeatures:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        new = {}
        for spec in map(DerivedFeature.model_validate, self.derived):
            for name, values in derive(lambda column: X[column].to_numpy(), spec).items():
                new[name] = pd.Series(values, index=X.index)
        return X.assign(**new) if new else X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = list(self.feature_names_in_)
        for spec in map(DerivedFeature.model_validate, self.derived):
            names.extend(derived_names(spec))
        return np.asarray(names, dtype=object)


def derived_names(spec: DerivedFeature) -> list[str]:
    if spec.kind == "date_parts":
        return [f"{spec.name}_{part}" for part in spec.parts]
    return [spec.name]


def derive(column: Callable[[str], np.ndarray], spec: DerivedFeature) -> dict[str, np.ndarray]:
    """The values of a derived feature, from the arrays ``column(name)`` returns.

    Arrays, not frames, so that the compiled prediction path (:mod:`ml_on_aws.pipelines.feature_engineering.compiled`)
    computes them with the very same operations as the fitted pipeline.
    """
    first = column(spec.columns[0])
    if spec.kind == "log":
        return {spec.name: np.log1p(np.clip(first.astype("float64", copy=False), 0, None))}
    if spec.kind == "date_parts":
        dates = pd.DatetimeIndex(pd.to_datetime(first, errors="coerce"))
        return {f"{spec.name}_{part}": np.asarray(getattr(dates, part), dtype="float64") for part in spec.parts}
    second = column(spec.columns[1]).astype("float64", copy=False)
    first = first.astype("float64", copy=False)
    if spec.kind == "ratio":
        return {spec.name: first / np.where(second != 0, second, np.nan)}
    if spec.kind == "difference":
        return {spec.name: first - second}
    return {spec.name: first * second}


_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


def build_feature_steps(columns: FeatureColumns, features: FeatureConfig) -> list[tuple[str, Any]]:
    """The unfitted steps that turn raw columns into model inputs."""
    derived_numeric = [name for spec in features.derived for name in derived_names(spec)]
    numeric_steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy=features.numeric_imputation, keep_empty_features=True))
    ]
    if features.scaling != "none":
        numeric_steps.append(("scale", _SCALERS[features.scaling]()))
    categorical_steps = [
        ("impute", SimpleImputer(strategy=features.categorical_imputation, fill_value="missing")),
        (
            "one_hot",
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                min_frequency=features.one_hot_min_frequency,
                max_categories=features.one_hot_max_categories,
                sparse_output=False,
            ),
        ),
    ]
    preprocess = ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), [*columns.numeric, *derived_numeric]),
            ("categorical", Pipeline(categorical_steps), columns.categorical),
        ],
        remainder="drop",
    )
    return [
        ("columns", ColumnTypes(columns.numeric, columns.categorical, columns.dates)),
        ("derive", DerivedFeatures([spec.model_dump() for spec in features.derived])),
        ("preprocess", preprocess),
    ]
