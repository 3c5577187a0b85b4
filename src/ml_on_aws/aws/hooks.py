"""Hooks for runs that read or write S3: check access first, explain S3 failures after."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from ml_on_aws.aws.checks import check_inputs_exist, check_s3_datasets, explain_failure
from ml_on_aws.hooks import HOW_TO_CREATE_INPUTS
from ml_on_aws.versions import set_aside_versions

logger = logging.getLogger(__name__)


class S3Hooks:
    """Fail before the first node when S3 or an input is not usable; name the cause on failure.

    Does nothing for pipelines without S3 datasets, except checking that file inputs exist.
    """

    def __init__(self) -> None:
        self._catalog: Any = None
        self._versioned_saves: list[str] = []

    # First among all hooks: before kedro-mlflow opens a run and before data is read.
    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._catalog, self._versioned_saves = catalog, []
        check_s3_datasets(catalog, pipeline.datasets())
        check_inputs_exist(catalog, pipeline.inputs(), HOW_TO_CREATE_INPUTS)

    # Before, not after: a save can reach storage and still fail (e.g. Kedro's version lookup
    # right after the write), so count every versioned save the run started.
    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        dataset = self._catalog.get(dataset_name) if self._catalog is not None else None
        if getattr(dataset, "_version", None) is not None:
            self._versioned_saves.append(dataset_name)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        explanation = explain_failure(error)
        if explanation:
            logger.error("%s Earlier versions are untouched.", explanation)
        if self._versioned_saves:
            moved, kept = set_aside_versions(catalog, self._versioned_saves)
            if moved:
                logger.warning(
                    "This failed run's saved versions were moved aside, so the last good run's stay the "
                    "newest (still readable there): %s", "; ".join(moved),
                )
            if kept:
                # Each object is whole or absent (S3 and local writes are all-or-nothing per object),
                # but the run is not: what it wrote is now the newest version although the run failed.
                logger.warning(
                    "This failed run wrote (or was writing) version %s of %s; whatever reached storage "
                    "is complete and, as it could not be moved aside (%s), is now the newest version. To "
                    "keep using the last good run, pass --load-versions <dataset>:<version> (versions are "
                    "the folders under each dataset).",
                    run_params.get("run_id"), ", ".join(sorted(kept)), "; ".join(kept.values()),
                )
