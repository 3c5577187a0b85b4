"""The container's one entry point, dispatching on how SageMaker starts it.

    python -m ml_on_aws.container train                 # training job: docker run IMAGE train
    python -m ml_on_aws.container process PIPELINE [--params k=v,...]  # processing job (ContainerArguments)
    python -m ml_on_aws.container serve [--workers N]   # endpoint: docker run IMAGE serve

The command line is :func:`main`. ``train`` and ``process`` run the Kedro pipelines with the
``sagemaker`` and ``sagemaker_processing`` environments (conf/), whose catalogs map the datasets
onto /opt/ml: a job checks what SageMaker gave it and writes back what SageMaker takes
(:mod:`.contract`), in a scratch view of the installed project (:mod:`.kedro_project`). Any
failure writes one paragraph to /opt/ml/output/failure (training) or /opt/ml/output/message
(processing) and exits non-zero, a stopped job (SIGTERM) included (:mod:`.job_runner`).
Environment: ML_ON_AWS_OPT_ML (the /opt/ml root), ML_ON_AWS_PROJECT_DIR (the folder holding
pyproject.toml and conf/), ML_ON_AWS_STOP_GRACE_SECONDS. See docs/container.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from ml_on_aws.container.contract import (
    OptMl,
    check_channels,
    check_processing_inputs,
    check_resources,
    publish_model,
    read_json,
    report_metrics,
    unfilled_shards,
    unpack_model_input,
)
from ml_on_aws.container.job_runner import JobError, run_job
from ml_on_aws.container.kedro_project import configure_logging, kedro_project
from ml_on_aws.container.runtime_params import runtime_params

TRAINING_ENV = "sagemaker"
PROCESSING_ENV = "sagemaker_processing"
# Written next to the MLflow model in /opt/ml/model (so in model.tar.gz): what a monitoring
# processing job compares the endpoint's traffic with, read from its `model` input
# (conf/sagemaker_processing/catalog.yml), so the job needs no other copy of them.
MODEL_COMPANIONS = ("reference_data", "test_predictions")

logger = logging.getLogger("ml_on_aws.container")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml_on_aws.container", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,process,serve}")
    commands.add_parser("train", help="a training job: channels in, model and reports out")
    processing = commands.add_parser("process", help="a processing job: run one named Kedro pipeline")
    processing.add_argument("pipeline", help="a registered pipeline, e.g. data_validation, drift, inference")
    processing.add_argument("--params", action="append", metavar="KEY=VALUE,...",
                            help="runtime parameters, as `kedro run --params` takes them (repeatable; later ones win)")
    serving = commands.add_parser("serve", help="the prediction server (/ping, /invocations)", add_help=False)
    serving.add_argument("server_args", nargs=argparse.REMAINDER, help="passed to python -m ml_on_aws.container.serving")
    args = parser.parse_args(argv)
    opt_ml = OptMl.from_env()
    if args.command == "serve":
        return run_server(opt_ml, args.server_args)
    if args.command == "train":
        return run_job("Training", opt_ml.failure_file, lambda: train(opt_ml))
    return run_job(f"Processing pipeline '{args.pipeline}'", opt_ml.processing_message_file,
                   lambda: process(opt_ml, args.pipeline, runtime_params(args.params)))


def run_server(opt_ml: OptMl, server_args: list[str]) -> int:
    """The prediction server on the model SageMaker unpacked into /opt/ml/model."""
    from ml_on_aws.container.serving.__main__ import main as serve_main

    os.environ.setdefault("ML_ON_AWS_MODEL_DIR", str(opt_ml.model))
    serve_main(server_args)
    return 0


# ---- training ------------------------------------------------------------------------------

def train(opt_ml: OptMl) -> None:
    hyperparameters = read_json(opt_ml.input_config / "hyperparameters.json", default={})
    check_resources(read_json(opt_ml.input_config / "resourceconfig.json", default=None))
    channels = check_channels(opt_ml, read_json(opt_ml.input_config / "inputdataconfig.json", default=None))
    with kedro_project(TRAINING_ENV) as project:
        from ml_on_aws.sagemaker.hyperparameters import to_runtime_params

        params = project.parameters()
        runtime_params = to_runtime_params(hyperparameters, params, where=f"conf/base or conf/{TRAINING_ENV}")
        from ml_on_aws.pipeline_registry import training_job_name

        pipeline_name = training_job_name(test_data="test" in channels, reference="reference" in channels)
        logger.info("Channels %s: running pipeline %s.", ", ".join(channels), pipeline_name)
        catalog = project.run(pipeline_names=[pipeline_name], runtime_params=runtime_params)
        report_metrics(opt_ml)
        status = read_json(opt_ml.output_data / "model_status.json", default={"accepted": True})
        if not status.get("accepted", False):
            raise JobError(f"the quality gate rejected the model ({status.get('reason')}); the reports are in "
                           f"{opt_ml.output_data}, no model was written to {opt_ml.model}.")
        publish_model(project.location(catalog, "mlflow_model"), opt_ml.model,
                      companions=[project.location(catalog, name) for name in MODEL_COMPANIONS])


# ---- processing ----------------------------------------------------------------------------

def process(opt_ml: OptMl, pipeline_name: str, params: dict[str, Any] | None = None) -> None:
    config = read_json(opt_ml.processing_config, default=None)
    if config:
        logger.info("Processing job %s.", config.get("ProcessingJobName"))
        check_processing_inputs(opt_ml, config)
        empty = unfilled_shards(opt_ml, config)
        if empty:
            # ShardedByS3Key with fewer objects than instances leaves some instances without any:
            # failing here would fail the whole job, so this instance just has nothing to do.
            from ml_on_aws.sagemaker.hosts import current_host

            logger.info("Instance %s got no objects of sharded input(s) %s (fewer objects than instances): "
                        "nothing to process, no outputs.", current_host(), ", ".join(empty))
            return
    unpack_model_input(opt_ml)
    with kedro_project(PROCESSING_ENV) as project:
        from kedro.framework.project import pipelines

        if pipeline_name not in pipelines:
            raise JobError(f"no pipeline named '{pipeline_name}'; the pipelines are: "
                           f"{', '.join(sorted(p for p in pipelines if p != '__default__'))}.")
        project.check_inputs(pipelines[pipeline_name], opt_ml.processing_input)
        project.run(pipeline_names=[pipeline_name], runtime_params=params or None)


def cli() -> None:
    configure_logging()
    sys.exit(main())


if __name__ == "__main__":
    cli()
