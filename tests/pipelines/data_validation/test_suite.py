import pandas as pd
import pytest
import yaml

from ml_on_aws.core.config import ConfigurationError, DataConfig
from ml_on_aws.pipelines.data_validation.suite import (
    build_suite,
    entries_for,
    parse_suite,
    suite_to_yaml,
)

CLASSIFICATION = DataConfig(task="classification", target="Status")


def _by(suite, kind, column=None):
    return [e for e in suite.expectations if e.type == kind and e.kwargs.get("column") == column]


def test_generated_suite_describes_the_reference(credit):
    suite = build_suite(credit, CLASSIFICATION, name="credit")
    (labels,) = _by(suite, "expect_column_values_to_be_in_set", "Status")
    assert labels.kwargs["value_set"] == ["bad", "good"] and labels.severity == "critical"
    assert labels.applies_to == ["training"]
    (age_range,) = _by(suite, "expect_column_values_to_be_between", "Age")
    assert (age_range.kwargs["min_value"], age_range.kwargs["max_value"]) == (credit.Age.min(), credit.Age.max())
    assert age_range.severity == "warning"
    (home,) = _by(suite, "expect_column_values_to_be_in_set", "Home")
    assert set(home.kwargs["value_set"]) == set(credit.Home.dropna()) and home.severity == "warning"
    (home_type,) = _by(suite, "expect_column_type_to_be", "Home")
    assert home_type.kwargs["type_"] == str(credit.Home.dtype)
    assert _by(suite, "expect_column_values_to_be_in_type_list", "Income")[0].kwargs["type_list"] == ["int64", "float64"]
    # The null-share bounds let the reference itself pass.
    for entry in _by(suite, "expect_column_values_to_not_be_null", "Income"):
        assert entry.kwargs["mostly"] <= credit.Income.notna().mean()


def test_new_data_gets_no_target_expectations(credit):
    suite = build_suite(credit, CLASSIFICATION, name="credit")
    for_new = entries_for(suite, "new_data")
    assert not [e for e in for_new if e.kwargs.get("column") == "Status"]
    (columns,) = [e for e in for_new if e.type == "expect_table_columns_to_match_set"]
    assert "Status" not in columns.kwargs["column_set"]
    assert len(for_new) < len(entries_for(suite, "training"))


def test_new_data_gets_no_expectations_on_dropped_columns(credit):
    """Identifiers and leaky columns (data.drop_columns) are checked in training, not in rows to score."""
    data = DataConfig(task="classification", target="Status", drop_columns=["Records"])
    suite = build_suite(credit, data, name="credit")
    for_new = entries_for(suite, "new_data")
    assert not [e for e in for_new if e.kwargs.get("column") in ("Status", "Records")]
    assert _by(suite, "expect_column_to_exist", "Records")[0].applies_to == ["training"]
    (columns,) = [e for e in for_new if e.type == "expect_table_columns_to_match_set"]
    assert "Records" not in columns.kwargs["column_set"] and columns.kwargs["exact_match"] is False


def test_regression_target_gets_a_range_not_a_value_set():
    frame = pd.DataFrame({"price": [100.5, 250.0, 300.25, 120.0], "rooms": [1, 2, 3, 2]})
    suite = build_suite(frame, DataConfig(task="regression", target="price"), name="houses")
    assert not _by(suite, "expect_column_values_to_be_in_set", "price")
    (price,) = _by(suite, "expect_column_values_to_be_between", "price")
    assert price.kwargs == {"column": "price", "min_value": 100.5, "max_value": 300.25}


def test_high_cardinality_text_gets_no_value_set(credit):
    frame = credit.assign(customer_id=[f"c{i}" for i in range(len(credit))])
    suite = build_suite(frame, CLASSIFICATION, name="credit", max_categories=50)
    assert not _by(suite, "expect_column_values_to_be_in_set", "customer_id")


def test_yaml_round_trip_is_commented_and_parses(credit):
    suite = build_suite(credit, CLASSIFICATION, name="credit")
    text = suite_to_yaml(suite, "Generated for a test.\nSecond line.")
    assert text.startswith("# Generated for a test.\n# Second line.\n")
    assert parse_suite(yaml.safe_load(text)) == suite


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"name": "s", "expectations": [{"type": "expect_x", "severity": "fatal"}]}, "expectations.0.severity"),
        ({"name": "s", "expectations": [{"type": "check_rows"}]}, "expectations.0.type"),
        ({"name": "s", "expectations": [{"type": "expect_x", "applies_to": ["scoring"]}]}, "expectations.0.applies_to"),
        (None, "name"),
    ],
)
def test_invalid_suite_names_the_entry(content, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_suite(content)
