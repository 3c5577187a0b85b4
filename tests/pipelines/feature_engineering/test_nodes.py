import pytest

from ml_on_aws.config import ConfigurationError
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
