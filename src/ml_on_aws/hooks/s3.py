"""Hooks for runs that read or write S3: check access first, explain S3 failures after."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from ml_on_aws.hooks.config_checks import HOW_TO_CREATE_INPUTS
from ml_on_aws.hooks.s3_checks import check_inputs_exist, check_s3_datasets, explain_failure

logger = logging.getLogger(__name__)


class S3Hooks:
    """Fail before the first node when S3 or an input is not usable; name the cause on failure.

    Does nothing for pipelines without S3 datasets, except checking that file inputs exist.
    What a failed run saved is not committed (``ml_on_aws.datasets.runs``): later loads do not see it.
    """

    # First among all hooks: before kedro-mlflow opens a run and before data is read.
    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        check_s3_datasets(catalog, pipeline.datasets())
        check_inputs_exist(catalog, pipeline.inputs(), HOW_TO_CREATE_INPUTS)

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        explanation = explain_failure(error)
        if explanation:
            logger.error("%s Earlier versions are untouched.", explanation)
