"""The registered model's name: one per dataset unless the catalog names it.

A registered model has one ``@champion``, so every configuration that shares a name competes
for it. ``champion_model`` / ``registered_model`` (``RegisteredModelDataset``) without a
``model_name`` are named after the ``raw_data`` dataset's file: ``ml_on_aws_<file stem>``
(``data/01_raw/credit_data.csv`` -> ``ml_on_aws_credit_data``). The name is set after the
catalog of the run's environment is merged, so an environment that only points ``raw_data`` at
another file gets a name of its own. A ``model_name`` in the catalog wins.
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

PREFIX = "ml_on_aws_"
RAW_DATASET = "raw_data"
# Characters kept in the derived name; anything else (spaces, '/', ':', ...) becomes '_'.
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def default_model_name(raw_path: str | None) -> str:
    """``ml_on_aws_<stem>`` of a file path or URL (all suffixes dropped, lower case, safe characters)."""
    stem = ""
    if raw_path:
        name = PurePosixPath(str(raw_path).replace("\\", "/").rstrip("/")).name
        stem = _UNSAFE.sub("_", name.split(".", 1)[0].lower()).strip("_.-")
    return PREFIX + (stem or "model")


class RegisteredModelNameHooks:
    """Name every ``RegisteredModelDataset`` of the catalog that has no ``model_name``."""

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        from ml_on_aws.datasets.internals import location
        from ml_on_aws.datasets.mlflow_model import RegisteredModelDataset

        unnamed = [name for name in catalog.keys()
                   if (catalog.get_type(name) or "").endswith("RegisteredModelDataset")]
        datasets = [catalog[name] for name in unnamed]
        datasets = [d for d in datasets if isinstance(d, RegisteredModelDataset) and d.model_name is None]
        if not datasets:
            return
        name = default_model_name(location(catalog[RAW_DATASET]) if RAW_DATASET in catalog else None)
        for dataset in datasets:
            dataset.model_name = name
        logger.debug("Registered model name: %s (after %s).", name, RAW_DATASET)
