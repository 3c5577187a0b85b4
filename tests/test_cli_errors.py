"""Errors the user can fix print a short message and exit 1, without a traceback (issue 16, item 6)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from ml_on_aws.cli_errors import TRACEBACK_VARIABLE, user_fixable, with_short_errors
from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.pipelines.data_validation.nodes import DataValidationError


def _command(error: Exception) -> click.Command:
    @click.command()
    def fails() -> None:
        raise error

    return with_short_errors(fails)


@pytest.mark.parametrize("error", [ConfigurationError("Fix 'data.target' in conf/base/parameters.yml."),
                                   DataValidationError("Dataset 'raw_data' failed 1 critical expectation(s)")])
def test_a_user_fixable_error_is_a_message_and_exit_1(error, monkeypatch):
    monkeypatch.delenv(TRACEBACK_VARIABLE, raising=False)
    result = CliRunner().invoke(_command(error))
    assert result.exit_code == 1
    assert f"Error: {type(error).__name__}: {error}" in result.output and "Traceback" not in result.output


def test_the_traceback_on_request_and_for_bugs(monkeypatch):
    monkeypatch.setenv(TRACEBACK_VARIABLE, "1")
    result = CliRunner().invoke(_command(ConfigurationError("x")))
    assert isinstance(result.exception, ConfigurationError)
    monkeypatch.delenv(TRACEBACK_VARIABLE)
    for flag in ("--verbose", "-v"):
        result = CliRunner().invoke(_command(ConfigurationError("x")), [flag])
        assert isinstance(result.exception, ConfigurationError)
    result = CliRunner().invoke(_command(KeyError("a bug")))
    assert isinstance(result.exception, KeyError)


def test_a_wrapped_error_is_found_by_its_cause():
    try:
        try:
            raise ConfigurationError("the cause")
        except ConfigurationError as cause:
            raise RuntimeError("wrapped") from cause
    except RuntimeError as wrapped:
        assert str(user_fixable(wrapped)) == "the cause"
