import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from ml_on_aws.core.config import FeatureConfig
from ml_on_aws.pipelines.feature_engineering.columns import FeatureColumns
from ml_on_aws.pipelines.feature_engineering.transformers import (
    ColumnTypes,
    DerivedFeatures,
    MissingColumnsError,
    build_feature_steps,
)


def test_column_types_coerces_text_numbers_and_categories():
    frame = pd.DataFrame({"a": ["1.5", "x", None], "c": [1, 2, None], "extra": [0, 0, 0]})
    out = ColumnTypes(numeric=["a"], categorical=["c"]).fit(frame).transform(frame)
    assert list(out.columns) == ["a", "c"]
    assert out["a"].tolist()[0] == 1.5 and np.isnan(out["a"].iloc[1])
    assert out["c"].tolist()[:2] == ["1.0", "2.0"] and pd.isna(out["c"].iloc[2])


def test_column_types_names_missing_columns():
    fitted = ColumnTypes(numeric=["a", "b"]).fit(pd.DataFrame({"a": [1], "b": [2]}))
    with pytest.raises(MissingColumnsError, match="b") as excinfo:
        fitted.transform(pd.DataFrame({"a": [1]}))
    assert excinfo.value.missing == ["b"]


def test_derived_features():
    frame = pd.DataFrame({"x": [2.0, 4.0, 1.0], "y": [1.0, 0.0, 2.0], "when": ["2024-03-01", "2024-12-25", None]})
    specs = [
        {"name": "ratio", "kind": "ratio", "columns": ["x", "y"]},
        {"name": "diff", "kind": "difference", "columns": ["x", "y"]},
        {"name": "log_x", "kind": "log", "columns": ["x"]},
        {"name": "when", "kind": "date_parts", "columns": ["when"], "parts": ["year", "month"]},
    ]
    derived = DerivedFeatures(specs).fit(frame)
    out = derived.transform(frame)
    assert out["ratio"].iloc[0] == 2.0 and np.isnan(out["ratio"].iloc[1])  # no division by zero
    assert out["diff"].tolist() == [1.0, 4.0, -1.0]
    assert out["log_x"].iloc[1] == pytest.approx(np.log1p(4.0))
    assert out["when_month"].iloc[1] == 12 and np.isnan(out["when_year"].iloc[2])
    assert list(derived.get_feature_names_out()) == list(out.columns)


def test_feature_steps_handle_unseen_categories_and_missing_values(credit):
    columns = FeatureColumns(numeric=["Income", "Age"], categorical=["Home"], dates=[])
    config = FeatureConfig(derived=[{"name": "log_income", "kind": "log", "columns": ["Income"]}])
    steps = Pipeline(build_feature_steps(columns, config)).fit(credit)
    unseen = credit.head(2).assign(Home="castle", Income=np.nan)
    out = steps.transform(unseen)
    assert out.shape[0] == 2 and not np.isnan(out).any()
