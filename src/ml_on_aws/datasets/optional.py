"""A table a pipeline can use when someone has supplied it, and does without otherwise."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from ml_on_aws.datasets.internals import describe_location

logger = logging.getLogger(__name__)


class OptionalTableDataset(AbstractDataset[None, pd.DataFrame]):
    """Read-only: the table of ``dataset`` (its catalog entry) when it exists, else an empty table.

    For inputs that may not exist yet, such as the ground-truth labels of live traffic: the run
    logs that the table is absent and goes on, where a plain dataset would stop it. The wrapped
    entry keeps the usual keys (``type``, ``filepath``, ``load_args``...), so the file can be
    local, on S3 or a folder of parts.
    """

    def __init__(self, dataset: dict[str, Any] | str, metadata: dict[str, Any] | None = None) -> None:
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        self._dataset = AbstractDataset.from_config("optional table", config)
        self.metadata = metadata

    @property
    def location(self) -> str:
        return describe_location(self._dataset)

    def load(self) -> pd.DataFrame:
        if not self._dataset.exists():
            logger.info("No table at %s (optional): going on without it.", self.location)
            return pd.DataFrame()
        table = self._dataset.load()
        if not isinstance(table, pd.DataFrame):
            raise DatasetError(f"{self.location} did not load as a table but as {type(table).__name__}.")
        return table

    def save(self, data: None) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only; write the table at {self.location}.")

    def _exists(self) -> bool:
        return True  # an absent table is an empty one

    def _describe(self) -> dict[str, Any]:
        # No "filepath": the checks before a run require the files of inputs to exist.
        return {"dataset": self.location, "optional": True}
