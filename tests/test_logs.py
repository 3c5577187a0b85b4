"""The run's log: one line per record when not written to a terminal, no noise nobody can act on."""

from __future__ import annotations

import io
import re

import pytest

from ml_on_aws.hooks.logs import plain_when_not_terminal
from tests.conftest import run_kedro

RICH = {"version": 1, "handlers": {"rich": {"class": "kedro.logging.RichHandler", "rich_tracebacks": True}},
        "root": {"handlers": ["rich"]}}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rich_handlers_become_plain_lines_unless_on_a_terminal():
    assert plain_when_not_terminal(RICH, _Terminal()) is RICH
    plain = plain_when_not_terminal(RICH, io.StringIO())
    assert plain["handlers"]["rich"]["class"] == "logging.StreamHandler"
    assert plain["root"] == RICH["root"] and RICH["handlers"]["rich"]["class"] == "kedro.logging.RichHandler"
    own = {"version": 1, "handlers": {"file": {"class": "logging.FileHandler", "filename": "x.log"}}}
    assert plain_when_not_terminal(own, io.StringIO()) is own  # a configuration without rich stays


@pytest.mark.slow
def test_a_run_into_a_pipe_logs_whole_lines_without_noise(project):
    result = run_kedro(project, "run", "--pipelines", "data_validation", env={"COLUMNS": ""})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    # Kedro's line for a node is longer than 80 columns: on one line, with time, level and logger.
    line = next(line for line in output.splitlines() if "Running node: validate_raw_data" in line)
    assert len(line) > 100 and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO kedro\.", line)
    assert line.rstrip().endswith("]")
    for noise in ("Add type hints to the `predict` method", "Replacing dataset", "Failed to resolve installed pip"):
        assert noise not in output


@pytest.mark.slow
def test_kedro_help_prints_no_mlflow_warning(project):
    result = run_kedro(project, "--help")
    assert result.returncode == 0 and "Usage: kedro" in result.stdout
    assert "type hints" not in result.stdout + result.stderr and "Warning" not in result.stdout + result.stderr


def test_noise_is_dropped_and_a_repeated_mlflow_line_said_once(caplog):
    import logging

    from ml_on_aws.hooks.logs import quiet_irrelevant_noise

    quiet_irrelevant_noise()
    caplog.set_level(logging.INFO)
    closed = "The run 'abc' was closed because of an error in the pipeline."
    for _ in range(4):
        logging.getLogger("kedro_mlflow.framework.hooks.mlflow_hook").info(closed)
    logging.getLogger("kedro_mlflow.framework.hooks.mlflow_hook").info("Another line.")
    logging.getLogger("mlflow.utils.environment").warning("Failed to resolve installed pip version. x")
    logging.getLogger("kedro.io.data_catalog").warning("Replacing dataset 'evaluation_metrics'")
    assert [r.getMessage() for r in caplog.records] == [closed, "Another line."]
