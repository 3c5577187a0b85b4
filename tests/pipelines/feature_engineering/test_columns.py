import pandas as pd
import pytest

from ml_on_aws.core.config import ConfigurationError, DataConfig
from ml_on_aws.pipelines.feature_engineering.columns import (
    check_config_fits_data,
    resolve_feature_columns,
)

WHERE = {"data.target": "conf/base/parameters.yml", "data.task": "conf/base/parameters.yml",
         "data.numeric_features": "conf/base/parameters.yml", "dataset": "dataset 'raw_data' (data/x.csv)"}


def test_unlisted_columns_are_split_by_dtype(credit):
    columns = resolve_feature_columns(credit.dtypes, DataConfig(task="classification", target="Status"))
    assert "Income" in columns.numeric and "Home" in columns.categorical
    assert "Status" not in columns.all
    assert len(columns.all) == credit.shape[1] - 1


def test_explicit_lists_and_drops_win(credit):
    data = DataConfig(task="classification", target="Status", numeric_features=["Age"], drop_columns=["Job"])
    columns = resolve_feature_columns(credit.dtypes, data)
    assert columns.numeric == ["Age"]
    assert "Job" not in columns.categorical and "Income" in columns.categorical  # "all other columns"


def test_unknown_target_names_column_and_file(credit):
    data = DataConfig(task="classification", target="Outcome")
    with pytest.raises(ConfigurationError, match=r"'Outcome'.*data/x\.csv.*conf/base/parameters\.yml"):
        check_config_fits_data(list(credit.columns), None, data, WHERE)


def test_feature_list_with_missing_columns_is_named(credit):
    data = DataConfig(task="classification", target="Status", numeric_features=["Age", "Salary"])
    with pytest.raises(ConfigurationError, match=r"\['Salary'\].*data\.numeric_features"):
        check_config_fits_data(list(credit.columns), credit["Status"], data, WHERE)


def test_regression_on_text_target_is_refused(credit):
    data = DataConfig(task="regression", target="Status")
    with pytest.raises(ConfigurationError, match=r"regression.*'Status'.*data\.task"):
        check_config_fits_data(list(credit.columns), credit["Status"], data, WHERE)


def test_classification_on_continuous_target_is_refused(credit):
    data = DataConfig(task="classification", target="Income")
    with pytest.raises(ConfigurationError, match="looks continuous"):
        check_config_fits_data(list(credit.columns), credit["Income"], data, WHERE)


def test_matching_configuration_passes(credit):
    data = DataConfig(task="classification", target="Status", positive_label="bad")
    check_config_fits_data(list(credit.columns), credit["Status"], data, WHERE)


def test_unknown_positive_label_is_refused(credit):
    data = DataConfig(task="classification", target="Status", positive_label="default")
    with pytest.raises(ConfigurationError, match="positive_label 'default'"):
        check_config_fits_data(list(credit.columns), pd.Series(credit["Status"]), data, {})
