import pytest

from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.pipelines.feature_engineering.nodes import (
    build_feature_pipeline,
    drop_rows_without_target,
    split_data,
)


def test_rows_without_target_are_dropped(credit, base_params):
    raw = credit.copy()
    raw.loc[:9, "Status"] = None
    assert len(drop_rows_without_target(raw, base_params["data"])) == len(raw) - 10


def test_split_is_stratified_and_seeded(credit, base_params):
    train, test = split_data(credit, base_params["data"], base_params["split"])
    assert len(test) == pytest.approx(0.2 * len(credit), abs=1)
    share = credit["Status"].eq("bad").mean()
    assert test["Status"].eq("bad").mean() == pytest.approx(share, abs=0.01)
    again, _ = split_data(credit, base_params["data"], base_params["split"])
    assert train.index.equals(again.index)


def test_derived_feature_on_unknown_column_is_refused(credit, base_params):
    features = {**base_params["features"], "derived": [{"name": "r", "kind": "ratio", "columns": ["Amount", "Nope"]}]}
    with pytest.raises(ConfigurationError, match=r"'r'.*\['Nope'\]"):
        build_feature_pipeline(credit, base_params["data"], features)


def test_a_given_test_table_is_cleaned_like_training_and_takes_its_column_order(credit, base_params):
    from ml_on_aws.pipelines.feature_engineering.nodes import prepare_test_set

    train, test = credit.iloc[:600], credit.iloc[600:].copy()
    test.loc[test.index[:3], "Status"] = None
    shuffled = test[list(reversed(test.columns))].assign(comment="not a feature")
    prepared = prepare_test_set(shuffled, train, base_params["data"])
    assert list(prepared.columns) == list(train.columns)
    assert len(prepared) == len(test) - 3 and prepared["Status"].notna().all()


def test_a_test_table_without_a_training_column_or_labelled_row_is_refused(credit, base_params):
    from ml_on_aws.pipelines.feature_engineering.nodes import prepare_test_set

    train, test = credit.iloc[:600], credit.iloc[600:]
    with pytest.raises(ConfigurationError, match=r"lacks column\(s\) \['Age', 'Income'\]"):
        prepare_test_set(test.drop(columns=["Income", "Age"]), train, base_params["data"])
    with pytest.raises(ConfigurationError, match="no row with a value in target 'Status'"):
        prepare_test_set(test.assign(Status=None), train, base_params["data"])
