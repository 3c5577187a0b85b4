"""Hooks for runs that read or write S3: check access first, explain S3 failures after."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from ml_on_aws.aws.checks import check_inputs_exist, check_s3_datasets, explain_failure

logger = logging.getLogger(__name__)


class S3Hooks:
    """Fail before the first node when S3 or an input is not usable; name the cause on failure.

    Does nothing for pipelines without S3 datasets, except checking that file inputs exist.
    """

    # First among all hooks: before kedro-mlflow opens a run and before data is read.
    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        check_s3_datasets(catalog, pipeline.datasets())
        check_inputs_exist(catalog, pipeline.inputs())

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        explanation = explain_failure(error)
        if explanation is None:
            return
        logger.error(
            "%s Versions this run saved are named %s; earlier versions are untouched, and a "
            "complete one can be pinned with --load-versions <dataset>:<version>.",
            explanation, run_params.get("session_id"),
        )
