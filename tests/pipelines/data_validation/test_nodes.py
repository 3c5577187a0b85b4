"""The validation nodes on the bad inputs a user meets, with the bundled suite."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.pipelines.data_validation.nodes import (
    DataValidationError,
    check_new_data,
    check_test_data,
    check_training_data,
    stop_on_critical_failures,
    validate_new_data,
    validate_training_data,
)

ROOT = Path(__file__).resolve().parents[3]
PARAMS = {"example_values": 3}


@pytest.fixture(scope="module")
def suite() -> dict:
    return yaml.safe_load((ROOT / "conf/base/expectations/raw_data.yml").read_text())


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data/01_raw/credit_data.csv")


@pytest.fixture(scope="module")
def new() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data/01_raw/credit_data_new.csv")


def _gate(frame, suite, validate=validate_training_data):
    report, docs = validate(frame, suite, PARAMS)
    return report, docs, lambda: stop_on_critical_failures(frame, report)


def test_bundled_data_passes_and_gets_data_docs(training, new, suite):
    report, docs, gate = _gate(training, suite)
    assert report["passed"] and report["statistics"]["failed_critical"] == 0
    assert gate() is training
    assert "<html" in docs.lower() and "expect_column_values_to_be_in_set" not in docs.lower()
    assert "Status" in docs
    new_report, _, new_gate = _gate(new, suite, validate_new_data)
    assert new_report["passed"] and new_gate() is new
    assert not [r for r in new_report["results"] if r["column"] == "Status"]


def test_missing_column_is_critical_and_named(training, suite):
    _, _, gate = _gate(training.drop(columns="Income"), suite)
    with pytest.raises(DataValidationError, match=r"Dataset 'raw_data' failed 1 critical.*\n  - column 'Income' is missing\n"
                       r".*kedro validation init-suite --dataset raw_data --force$"):
        gate()


def test_extra_column_is_a_warning(training, suite, caplog):
    report, _, gate = _gate(training.assign(comment="x"), suite)
    assert report["passed"]
    (warning,) = report["warnings"]
    assert warning["expectation"] == "expect_table_columns_to_match_set"
    assert "comment" in str(warning["mismatched"])
    gate()
    assert "expect_table_columns_to_match_set" in caplog.text


def test_wrong_dtype_is_critical_with_examples(training, suite):
    frame = training.astype({"Age": str})
    frame.loc[:2, "Age"] = ["thirty", "forty", "n/a"]
    report, _, gate = _gate(frame, suite)
    (failure,) = [f for f in report["critical_failures"] if f["column"] == "Age"]
    assert failure["expectation"] == "expect_column_values_to_be_in_type_list"
    with pytest.raises(DataValidationError, match=r"column 'Age': expect_column_values_to_be_in_type_list.*observed 'str'"):
        gate()
    # The values that are not numbers, and how many (issue 16): the type check alone names only 'str'.
    with pytest.raises(DataValidationError, match=r"3 of 4000 rows failed, e.g. \['thirty', 'forty', 'n/a'\]"):
        gate()


def test_new_data_needs_only_the_columns_the_model_reads(new, suite):
    """Rows to score may lack the target and data.drop_columns, whatever the suite says (issue 16)."""
    data = {"task": "classification", "target": "Status", "drop_columns": ["Records", "Job"]}
    without = new.drop(columns=["Records", "Job"])
    report, _ = validate_new_data(without, suite, PARAMS, data)
    assert report["passed"], report["critical_failures"]
    assert not [r for r in report["results"] if r["column"] in ("Records", "Job")]
    report, _ = validate_new_data(without.drop(columns="Income"), suite, PARAMS, data)
    assert [f["column"] for f in report["critical_failures"]] == ["Income"]


def test_all_null_column_is_critical_with_row_count(training, suite):
    frame = training.assign(Seniority=np.nan)
    report, _, gate = _gate(frame, suite)
    failures = [f for f in report["critical_failures"] if f["column"] == "Seniority"]
    assert [f["expectation"] for f in failures] == ["expect_column_values_to_not_be_null"]
    assert failures[0]["unexpected_count"] == len(frame)
    with pytest.raises(DataValidationError, match=rf"column 'Seniority'.*{len(frame)} of {len(frame)} rows failed"):
        gate()


def test_unknown_category_warns_by_default(training, suite):
    frame = training.copy()
    frame.loc[:9, "Home"] = "houseboat"
    report, _, gate = _gate(frame, suite)
    assert report["passed"]
    (warning,) = report["warnings"]
    assert (warning["column"], warning["unexpected_count"]) == ("Home", 10)
    assert warning["examples"] == ["houseboat"] * 3
    gate()


def test_unknown_category_stops_when_configured_critical(training, suite):
    strict = {**suite, "expectations": [
        {**e, "severity": "critical"} if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "Home" else e
        for e in suite["expectations"]
    ]}
    frame = training.copy()
    frame.loc[:9, "Home"] = "houseboat"
    _, _, gate = _gate(frame, strict)
    with pytest.raises(DataValidationError, match=r"column 'Home': expect_column_values_to_be_in_set.*10 of 4000 rows failed, e\.g\. \['houseboat'"):
        gate()


def test_unknown_target_label_is_critical(training, suite):
    frame = training.copy()
    frame.loc[:4, "Status"] = "maybe"
    _, _, gate = _gate(frame, suite)
    with pytest.raises(DataValidationError, match=r"column 'Status': expect_column_values_to_be_in_set.*5 of 4000"):
        gate()


def test_header_only_table_is_critical(training, new, suite):
    for frame, validate in ((training.iloc[:0], validate_training_data), (new.iloc[:0], validate_new_data)):
        _, _, gate = _gate(frame, suite, validate)
        with pytest.raises(DataValidationError, match=r"table: expect_table_row_count_to_be_between.*observed 0"):
            gate()


def test_a_broken_suite_entry_is_a_configuration_error(training, suite):
    broken = {**suite, "expectations": [{"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "Age"}}]}
    with pytest.raises(ConfigurationError, match="entry 0 .*expect_column_values_to_be_betwen"):
        validate_training_data(training, broken, PARAMS)


def test_observed_values_of_passing_expectations_on_request(training, suite):
    quick, _ = validate_training_data(training, suite, PARAMS)
    full, _ = validate_training_data(training, suite, {**PARAMS, "observe_passing": True})
    assert [r["success"] for r in quick["results"]] == [r["success"] for r in full["results"]]
    (home_type,) = [r for r in full["results"] if r["expectation"] == "expect_column_type_to_be" and r["column"] == "Home"]
    assert home_type["observed_value"] == "str"


def test_a_test_table_meets_the_training_expectations_except_the_training_row_count(training, suite):
    from ml_on_aws.pipelines.data_validation.nodes import validate_test_data

    small = training.head(50)  # the bundled suite wants at least 400 rows to train on
    assert not validate_training_data(small, suite, PARAMS)[0]["passed"]
    report, _ = validate_test_data(small, suite, PARAMS)
    assert report["passed"] and report["dataset"] == "test_data"
    assert any(r["column"] == "Status" for r in report["results"])  # target expectations apply
    report, _ = validate_test_data(small.assign(Status="unknown"), suite, PARAMS)
    assert [f["column"] for f in report["critical_failures"]] == ["Status"]
    report, _ = validate_test_data(small.head(0), suite, PARAMS)
    assert report["critical_failures"][0]["expectation"] == "expect_table_row_count_to_be_between"


def test_validation_keeps_no_reference_to_a_large_table(training, suite, monkeypatch):
    # Great Expectations keeps its last context alive, and its batch objects hold the table in
    # reference cycles: a large table must not stay in memory with them.
    import gc
    import weakref

    from ml_on_aws.pipelines.data_validation import expectations

    monkeypatch.setattr(expectations, "_COLLECT_FROM_CELLS", training.size)  # "large"
    table = training.copy()
    alive = weakref.ref(table)
    gc.disable()  # only what validation itself frees counts
    try:
        validate_training_data(table, suite, PARAMS)
        del table
        assert alive() is None
    finally:
        gc.enable()


def _marked(text: bytes, **read_args) -> pd.DataFrame:
    """A CSV file's table as the run loads it: undecodable bytes marked, not refused."""
    import io

    from ml_on_aws.core.decoding import MARK_UNDECODABLE

    return pd.read_csv(io.BytesIO(text), encoding_errors=MARK_UNDECODABLE, **read_args)


def test_the_check_names_each_column_with_undecodable_text_by_its_first_line():
    frame = _marked(b"age,home,city\n30,rent,Z\xfcrich\n41,caf\xe9,Bern\n3\xff,own,Basel\n50,own,Z\xfcrich\n")
    with pytest.raises(DataValidationError) as error:
        check_new_data(frame)
    message = str(error.value)
    assert message.startswith("Dataset 'new_data' is not valid text in the encoding it is read with")
    # By line: city (line 2, twice), home (line 3), age (line 4, a number column read as text).
    assert ("column 'city': 2 value(s), the first on line 2 ('Z\ufffdrich'); column 'home': 1 value(s), the first "
            "on line 3 ('caf\ufffd'); column 'age': 1 value(s), the first on line 4 ('3\ufffd')") in message


def test_a_table_in_another_encoding_passes_when_read_in_it():
    frame = _marked("age,home\n30,café\n".encode("latin-1"), encoding="latin-1")
    assert check_new_data(frame) is frame
    assert check_test_data(frame) is frame


def test_the_check_looks_at_text_in_any_column_kind():
    marked = "caf\ufdd0"
    frame = pd.DataFrame({
        "number": [1.0, 2.0], "category": pd.Categorical(["a", marked]), "mixed": [3, marked], "text": ["x", "y"],
    })
    with pytest.raises(DataValidationError, match=r"column 'category': 1 value\(s\), the first on line 3.*"
                                                  r"column 'mixed': 1 value\(s\), the first on line 3"):
        check_new_data(frame)


def test_the_training_check_runs_the_target_checks_on_the_whole_target(training):
    data = {"task": "classification", "target": "Status", "positive_label": "bad"}
    training_params = {"estimator": {"class": "sklearn.linear_model.LogisticRegression"}, "search": {"kind": "none"}}
    gate = {"quality_gate": {"metric": "roc_auc", "min_test_score": 0.5}}
    assert check_training_data(training, data, training_params, gate) is training
    # The whole column is checked: a label in the last row counts.
    late = training.assign(Status=["good"] * (len(training) - 1) + ["bad"])
    assert check_training_data(late, data, training_params, gate) is late
    with pytest.raises(ConfigurationError, match=r"positive_label 'maybe' is not a value of 'Status'.*"
                                                 r"Fix 'data.positive_label' in the parameters\.$"):
        check_training_data(training, {**data, "positive_label": "maybe"}, training_params, gate)
    # No rows: validation names that (the suite's row count), not the configuration.
    assert check_training_data(training.iloc[:0], data, training_params, gate).empty
