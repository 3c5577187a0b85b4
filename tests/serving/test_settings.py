"""Which payload limit the server takes from the environment SageMaker sets."""

from __future__ import annotations

import sys

import pytest

from ml_on_aws.container.serving.settings import ServerSettings

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def no_payload_variables(monkeypatch):
    monkeypatch.delenv("ML_ON_AWS_MAX_PAYLOAD_MB", raising=False)
    monkeypatch.delenv("SAGEMAKER_MAX_PAYLOAD_IN_MB", raising=False)


def test_default_is_sagemakers_real_time_limit():
    assert ServerSettings.from_env().max_payload_bytes == 6 * MB


@pytest.mark.parametrize(("ours", "sagemaker", "limit"), [
    ("1", "20", 20 * MB),  # a transform job's MaxPayloadInMB 20
    ("30", "20", 30 * MB),  # our own larger limit stays
    (None, "1", 6 * MB),
    ("2", None, 2 * MB),
])
def test_the_larger_of_the_two_limits_wins(monkeypatch, ours, sagemaker, limit):
    if ours:
        monkeypatch.setenv("ML_ON_AWS_MAX_PAYLOAD_MB", ours)
    if sagemaker:
        monkeypatch.setenv("SAGEMAKER_MAX_PAYLOAD_IN_MB", sagemaker)
    assert ServerSettings.from_env().max_payload_bytes == limit


def test_max_payload_zero_from_sagemaker_means_no_limit(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_MAX_PAYLOAD_IN_MB", "0")
    assert ServerSettings.from_env().max_payload_bytes == sys.maxsize


@pytest.mark.parametrize("raw", ["-1", "lots"])
def test_a_bad_value_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SAGEMAKER_MAX_PAYLOAD_IN_MB", raw)
    with pytest.raises(SystemExit, match="SAGEMAKER_MAX_PAYLOAD_IN_MB"):
        ServerSettings.from_env()
