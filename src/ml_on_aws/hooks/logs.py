"""The run's log without noise nobody can act on."""

from __future__ import annotations

import logging

# (logger, start of a message) logged on every run, about nothing a user of this project can change:
# kedro-mlflow replaces the catalog's metrics dataset on purpose; uv's environments have no pip.
_IRRELEVANT_RECORDS = (
    ("kedro.io.data_catalog", "Replacing dataset 'evaluation_metrics'"),
    ("mlflow.utils.environment", "Failed to resolve installed pip version"),
)


class _DropMessages(logging.Filter):
    def __init__(self, starts: tuple[str, ...]) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.starts)


def quiet_irrelevant_noise() -> None:
    """Drop the log records above (a logger keeps its filters when Kedro configures logging)."""
    for name, start in _IRRELEVANT_RECORDS:
        logging.getLogger(name).addFilter(_DropMessages((start,)))
