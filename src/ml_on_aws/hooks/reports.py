"""Say where the human-readable reports went: the paths are in the catalog, not the logs."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from ml_on_aws.datasets.internals import describe_location

logger = logging.getLogger(__name__)


class ReportLocationHooks:
    """Say where the human-readable reports went: the paths are in the catalog, not the logs."""

    _REPORTS_SUFFIX = ("_data_docs", "drift_summary")

    def __init__(self) -> None:
        self._catalog: Any = None

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        self._catalog = catalog

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        if self._catalog is not None and dataset_name.endswith(self._REPORTS_SUFFIX):
            logger.info("Report '%s' (open in a browser): %s", dataset_name, describe_location(self._catalog[dataset_name]))
