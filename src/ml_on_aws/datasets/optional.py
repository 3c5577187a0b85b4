"""Data a pipeline can use when someone has supplied it, and does without otherwise."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset
from kedro.io.core import DatasetError

from ml_on_aws.datasets.internals import describe_location

logger = logging.getLogger(__name__)


class OptionalDataset(AbstractDataset[None, Any]):
    """Read-only: the data of ``dataset`` (its catalog entry) when it exists, else None.

    For inputs that may not exist, such as the lineage record next to a model trained before
    models carried one: the run logs that the data is absent and goes on, where a plain dataset
    would stop it. The wrapped entry keeps the usual keys (``type``, ``filepath``, ``load_args``...).
    """

    def __init__(self, dataset: dict[str, Any] | str, metadata: dict[str, Any] | None = None) -> None:
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        self._dataset = AbstractDataset.from_config("optional dataset", config)
        self.metadata = metadata

    @property
    def location(self) -> str:
        return describe_location(self._dataset)

    def absent(self) -> Any:
        """What a load gives when the wrapped dataset does not exist."""
        return None

    def load(self) -> Any:
        if not self._dataset.exists():
            logger.info("Nothing at %s (optional): going on without it.", self.location)
            return self.absent()
        return self._dataset.load()

    def save(self, data: None) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only; write the file at {self.location}.")

    def _exists(self) -> bool:
        return True  # absent data is a valid input

    def _describe(self) -> dict[str, Any]:
        # No "filepath": the checks before a run require the files of inputs to exist.
        return {"dataset": self.location, "optional": True}


class OptionalTableDataset(OptionalDataset):
    """Read-only: the table of ``dataset`` (its catalog entry) when it exists, else an empty table.

    For inputs that may not exist yet, such as the ground-truth labels of live traffic. The file
    can be local, on S3 or a folder of parts.
    """

    def absent(self) -> pd.DataFrame:
        return pd.DataFrame()

    def load(self) -> pd.DataFrame:
        table = super().load()
        if not isinstance(table, pd.DataFrame):
            raise DatasetError(f"{self.location} did not load as a table but as {type(table).__name__}.")
        return table
