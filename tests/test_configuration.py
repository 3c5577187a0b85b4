"""Shared configuration helpers: the project's config loader, messages for invalid files, numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from ml_on_aws.core.config import DataConfig, SplitConfig, problems, project_config_loader
from ml_on_aws.core.dtypes import is_numeric
from tests.conftest import PROJECT_ROOT


@pytest.fixture(autouse=True, scope="module")
def _project_settings():
    from kedro.framework.project import configure_project

    configure_project("ml_on_aws")


def _error(model, raw) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(raw)
    return caught.value


def test_problems_name_the_dotted_key_and_say_what_to_do():
    assert problems(_error(DataConfig, {}), "data") == ["data.task: is required"]
    assert problems(_error(DataConfig, {"task": "forecast"}), "data") == [
        "data.task: Input should be 'classification', 'regression' or 'clustering'"]
    assert problems(_error(SplitConfig, {"test_size": 2}), "split") == ["split.test_size: Input should be less than 1"]
    empty = problems(_error(DataConfig, {"task": "regression", "target": None, "drop_columns": [None]}))
    assert empty == ["drop_columns.0: is required (it is empty; is its environment variable set?)"]


def test_the_loader_reads_an_environment_as_kedro_run_does(monkeypatch):
    monkeypatch.delenv("ML_ON_AWS_BUCKET", raising=False)
    monkeypatch.setenv("ML_ON_AWS_PREFIX", "team/project")
    # The aws environment's data locations need the bucket, settings such as CloudWatch's do not.
    assert project_config_loader(PROJECT_ROOT, "aws", data_locations=False)["cloudwatch"]["enabled"] is True
    with pytest.raises(Exception, match="ML_ON_AWS_BUCKET is not set"):
        project_config_loader(PROJECT_ROOT, "aws")
    monkeypatch.setenv("ML_ON_AWS_BUCKET", "example-bucket")
    loader = project_config_loader(PROJECT_ROOT, "aws")
    assert loader["catalog"]["raw_data"]["filepath"] == "s3://example-bucket/team/project/01_raw/credit_data.csv"
    assert loader["parameters"]["split"]["test_size"] == 0.2  # soft merge: base keys the environment leaves alone


@pytest.mark.parametrize(("values", "numeric"), [
    (pd.Series([1, 2]), True),
    (pd.Series([1.5, None]), True),
    (pd.Series([1, None], dtype="Int64"), True),
    (pd.Series([True, False]), False),
    (pd.Series([True, None], dtype="boolean"), False),
    (pd.Series(["a", "b"]), False),
    (pd.Series(["a"]).dtype, False),
    (pd.Series([1.0]).dtype, True),
])
def test_booleans_are_not_numbers(values, numeric):
    assert is_numeric(values) is numeric
