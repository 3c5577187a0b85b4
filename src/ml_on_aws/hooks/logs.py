"""The run's log: one line per record when it goes to a file or a pipe, without noise nobody can act on."""

from __future__ import annotations

import copy
import logging
import sys
from typing import Any

# (logger, text in a message) logged on runs, about nothing a user of this project can change:
# kedro-mlflow replaces the catalog's metrics dataset on purpose; uv's environments have no pip;
# kedro-mlflow's KedroPipelineModel, a PythonModel this project does not use, has a predict method
# without type hints, and MLflow warns about it whenever the plugin loads (every `kedro` command,
# `--help` too). A `warnings` filter cannot drop that one: MLflow emits it under its own
# `simplefilter("once")`, which comes first; as a log record (logging.captureWarnings) it can be.
_IRRELEVANT_RECORDS = (
    ("kedro.io.data_catalog", "Replacing dataset 'evaluation_metrics'"),
    ("mlflow.utils.environment", "Failed to resolve installed pip version"),
    ("py.warnings", "Add type hints to the `predict` method"),
)

_MLFLOW_HOOK = "kedro_mlflow.framework.hooks.mlflow_hook"

# Plain lines (also the SageMaker entry point's format): time, level, logger, message.
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_RICH_HANDLER = "kedro.logging.RichHandler"


class _DropMessages(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


class _DropRepeats(logging.Filter):
    """Drops a record identical to the logger's previous one."""

    def __init__(self) -> None:
        super().__init__()
        self.previous: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        repeated, self.previous = message == self.previous, message
        return not repeated


def quiet_irrelevant_noise() -> None:
    """Drop the log records above (a logger keeps its filters when Kedro configures logging);
    warnings go to the log (logger py.warnings) whatever the handler, so they can be dropped."""
    logging.captureWarnings(True)
    for name, text in _IRRELEVANT_RECORDS:
        logging.getLogger(name).addFilter(_DropMessages(text))
    # kedro-mlflow logs "The run '<id>' was closed because of an error" once per MLflow run still
    # active on a failed run, and the same run is active several times over: one line says it.
    logging.getLogger(_MLFLOW_HOOK).addFilter(_DropRepeats())


def plain_when_not_terminal(config: dict[str, Any], stream: Any) -> dict[str, Any]:
    """``config`` (a logging dictConfig) with its rich handlers writing plain lines when ``stream``
    is not a terminal.

    Rich lays a record out for a console 80 columns wide when it is not a terminal, wrapping every
    long line (and pads each line to the width when told a larger one): a log in a file, a CI job
    or CloudWatch is then hard to read and to search.
    """
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return config
    handlers = config.get("handlers", {})
    rich = [name for name, handler in handlers.items() if handler.get("class") == _RICH_HANDLER]
    if not rich:
        return config
    plain = copy.deepcopy(config)
    plain.setdefault("formatters", {})["ml_on_aws_plain"] = {"format": PLAIN_FORMAT}
    for name in rich:
        level = handlers[name].get("level")
        plain["handlers"][name] = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                                   "formatter": "ml_on_aws_plain", **({"level": level} if level else {})}
    return plain


def use_plain_lines_unless_terminal() -> None:
    """Reconfigure Kedro's logging (the default or conf/logging.yml) with ``plain_when_not_terminal``.

    Kedro configures logging before it reads these settings and applies the stored
    configuration again when it adds the project's logger, so the stored one is replaced.
    """
    from kedro.framework.project import LOGGING

    config = plain_when_not_terminal(dict(LOGGING.data), sys.stdout)
    if config is not LOGGING.data and config != dict(LOGGING.data):
        LOGGING.configure(config)
