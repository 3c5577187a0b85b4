"""SageMaker hyperparameters (strings, JSON-encoded by the SDK) back to typed parameters."""

from __future__ import annotations

import json

import pytest

from ml_on_aws.sagemaker.hyperparameters import HyperparameterError, to_runtime_params

PARAMETERS = {
    "data": {"target": "Status", "numeric_features": None, "drop_columns": []},
    "split": {"test_size": 0.2, "stratify": True},
    "training": {
        "estimator": {"class": "sklearn.ensemble.HistGradientBoostingClassifier", "kwargs": {"random_state": 42}},
        "search": {"kind": "randomized", "n_iter": 8, "space": {"max_leaf_nodes": [15, 31]}},
    },
}


def test_plain_and_sdk_encoded_strings_become_the_parameter_types():
    hyperparameters = {
        "training.search.n_iter": "3",                      # console / boto3: plain text
        "split.test_size": json.dumps("0.3"),              # SDK: JSON-encoded string
        "split.stratify": "false",
        "training.search.kind": json.dumps("grid"),
        "data.drop_columns": '["id", "Debt"]',
        "data.numeric_features": "[Age, Income]",          # null in conf: read as YAML
    }
    assert to_runtime_params(hyperparameters, PARAMETERS) == {
        "training": {"search": {"n_iter": 3, "kind": "grid"}},
        "split": {"test_size": 0.3, "stratify": False},
        "data": {"drop_columns": ["id", "Debt"], "numeric_features": ["Age", "Income"]},
    }


def test_a_string_parameter_keeps_text_that_looks_like_a_number():
    assert to_runtime_params({"data.target": "2024"}, PARAMETERS) == {"data": {"target": "2024"}}


def test_new_keys_are_accepted_only_under_free_mappings():
    overrides = to_runtime_params({"training.estimator.kwargs.max_depth": "6",
                                   "training.search.space.learning_rate": "[0.05, 0.1]"}, PARAMETERS)
    assert overrides["training"]["estimator"]["kwargs"] == {"max_depth": 6}
    assert overrides["training"]["search"]["space"] == {"learning_rate": [0.05, 0.1]}


def test_sagemaker_sdk_keys_are_ignored():
    assert to_runtime_params({"sagemaker_program": json.dumps("train.py"), "sagemaker_region": "eu-west-1"}, PARAMETERS) == {}


@pytest.mark.parametrize(("hyperparameters", "message"), [
    ({"training.search.n_iter": "8.5"}, "'training.search.n_iter' = '8.5' is not a valid int"),
    ({"split.stratify": "maybe"}, "'split.stratify' = 'maybe' is not a valid bool"),
    ({"split.test_size": "nan"}, "'split.test_size' = 'nan' is not a valid float"),
    ({"data.drop_columns": "Debt"}, "'data.drop_columns' = 'Debt' is not a list"),
    ({"training.search.n_iters": "3"}, "Did you mean 'training.search.n_iter'"),
    ({"trainin": "3"}, "Unknown hyperparameter 'trainin'"),
])
def test_bad_values_and_unknown_keys_are_named(hyperparameters, message):
    with pytest.raises(HyperparameterError) as error:
        to_runtime_params(hyperparameters, PARAMETERS)
    assert message in str(error.value)
