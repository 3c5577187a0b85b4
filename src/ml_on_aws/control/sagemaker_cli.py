"""``kedro sagemaker ...``: push the image, run jobs on SageMaker (or locally), deploy the model."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ml_on_aws.core.config import ConfigurationError

DEFAULT_ENV = "aws"


def _project_path(metadata: Any) -> Path:
    return Path(metadata.project_path) if metadata is not None else Path.cwd()


def _options(command: Callable) -> Callable:
    command = click.option(
        "--env", "-e", default=lambda: os.environ.get("KEDRO_ENV", DEFAULT_ENV), show_default="aws (or KEDRO_ENV)",
        help="Kedro configuration environment whose sagemaker.yml to use.",
    )(command)
    command = click.option(
        "--local", is_flag=True, help="Run the very same request on this machine with Docker (always waits)."
    )(command)
    return click.option(
        "--wait/--no-wait", default=False, help="Follow the job (status, log lines) until it ends."
    )(command)


def _launch(
    metadata: Any, env: str, local: bool, action: Callable[[Any], bool], channels: dict[str, str | None] | None = None
) -> None:
    from ml_on_aws.aws.cloudwatch import load_config as load_metrics_config
    from ml_on_aws.control.launcher import Launcher
    from ml_on_aws.sagemaker.config import load, with_channels

    try:
        config = with_channels(load(_project_path(metadata), env), channels or {})
        metrics = load_metrics_config(_project_path(metadata), env)  # the live-quality alarm's metric
        launcher = Launcher(config, _project_path(metadata), click.echo, local=local, metrics=metrics)
        succeeded = action(launcher)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    if not succeeded:
        raise SystemExit(1)


@click.group(name="sagemaker")
def sagemaker() -> None:
    """Push the image, run the pipelines as SageMaker jobs and deploy the model (see docs/sagemaker.md)."""


@sagemaker.command()
@click.option("--train", "train_uri", metavar="S3_URI", help="The `train` channel (default: training.channels.train).")
@click.option("--test", "test_uri", metavar="S3_URI",
              help="Optional `test` channel: a test table (columns of train) used instead of a split of train.")
@click.option("--reference", "reference_uri", metavar="S3_URI",
              help="Optional `reference` channel: the production model's reference_data.parquet; adds a drift report.")
@_options
@click.pass_obj
def train(
    metadata: Any, train_uri: str | None, test_uri: str | None, reference_uri: str | None, env: str, local: bool, wait: bool
) -> None:
    """Run a training job: the container's `train` on the configured channels (training.channels
    in sagemaker.yml), each replaced or added by the option of the same name."""
    channels = {"train": train_uri, "test": test_uri, "reference": reference_uri}
    _launch(metadata, env, local, lambda launcher: launcher.train(wait), channels)


@sagemaker.command()
@click.argument("pipeline")
@_options
@click.pass_obj
def process(metadata: Any, pipeline: str, env: str, local: bool, wait: bool) -> None:
    """Run the Kedro PIPELINE as a processing job (processing.pipelines.PIPELINE in sagemaker.yml)."""
    _launch(metadata, env, local, lambda launcher: launcher.process(pipeline, wait))


@sagemaker.command()
@_options
@click.pass_obj
def transform(metadata: Any, env: str, local: bool, wait: bool) -> None:
    """Score transform.input_s3_uri with a batch transform job of the newest model."""
    _launch(metadata, env, local, lambda launcher: launcher.transform(wait))


@sagemaker.command()
@_options
@click.pass_obj
def deploy(metadata: Any, env: str, local: bool, wait: bool) -> None:
    """Create the endpoint serving the newest model, or update it blue/green with automatic rollback
    on its alarms (endpoint.deployment in sagemaker.yml); --local serves it here."""
    _launch(metadata, env, local, lambda launcher: launcher.deploy(wait))


@sagemaker.command("push-image")
@click.option("--env", "-e", default=lambda: os.environ.get("KEDRO_ENV", DEFAULT_ENV), show_default="aws (or KEDRO_ENV)")
@click.option("--registry", default=None, help="Push to this registry host[:port] instead of the account's ECR.")
@click.option("--no-ecr", is_flag=True, help="Do not call ECR's API (any OCI registry; log in yourself).")
@click.pass_obj
def push_image(metadata: Any, env: str, registry: str | None, no_ecr: bool) -> None:
    """Build the image for linux/amd64, push it tagged with the git commit, print its URI.

    A tag that holds this very image already is not pushed again; one that holds another image
    is refused, and so is a commit tag while untracked files under src/ or conf/ exist."""
    import boto3

    from ml_on_aws.control.image import PushRefused
    from ml_on_aws.control.image import push_image as push
    from ml_on_aws.core.git import git_commit
    from ml_on_aws.sagemaker.config import load_push_settings

    project_path = _project_path(metadata)
    try:
        settings = load_push_settings(project_path, env)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    image = settings.image.model_copy(
        update={k: v for k, v in {"registry": registry, "use_ecr": False if no_ecr else None}.items() if v is not None}
    )
    try:
        push(image, project_path, git_commit(project_path), click.echo, session=boto3.Session(region_name=settings.region))
    except subprocess.CalledProcessError as exc:
        raise click.ClickException(f"`{' '.join(exc.cmd[:2])} ...` failed with exit status {exc.returncode}") from None
    except PushRefused as exc:
        raise click.ClickException(f"Not pushed: {exc}") from None
