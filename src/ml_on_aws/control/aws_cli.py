"""``kedro aws ...``: build the Lambda package and deploy infra/stack.yml (docs/architecture.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ml_on_aws.core.config import ConfigurationError

DEFAULT_ENV = "aws"


def _project_path(metadata: Any) -> Path:
    return Path(metadata.project_path) if metadata is not None else Path.cwd()


def _stack_variables(stack_outputs: dict[str, str], region: str) -> dict[str, str]:
    """The variables conf/aws/*.yml read, as the stack defines them."""
    return {
        "AWS_REGION": region,
        "ML_ON_AWS_BUCKET": stack_outputs["BucketName"],
        "ML_ON_AWS_PREFIX": stack_outputs["DataPrefix"],
        "ML_ON_AWS_SAGEMAKER_ROLE_ARN": stack_outputs["SageMakerExecutionRoleArn"],
    }


def _parameters(pairs: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--parameter")
        parsed[key] = value
    return parsed


@click.group(name="aws")
def aws() -> None:
    """The AWS architecture: Lambda package and CloudFormation stack (see docs/architecture.md)."""


@aws.command("lambda-package")
@click.option("--env", "-e", default=lambda: os.environ.get("KEDRO_ENV", DEFAULT_ENV), show_default="aws (or KEDRO_ENV)",
              help="Environment whose sagemaker.yml the package carries (resolved with the current variables).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("build/lambda.zip"),
              show_default=True)
@click.option("--vendor", type=click.Choice(["auto", "copy", "install"]), default="auto", show_default=True,
              help="How pydantic gets in: copied from this environment, or installed by uv for Lambda's platform.")
@click.pass_obj
def lambda_package(metadata: Any, env: str, output: Path, vendor: str) -> None:
    """Build the zip of the Lambda functions (handlers, request builder, configuration, pydantic)."""
    from ml_on_aws.control.lambda_package import PackageError, package_bytes, resolved_config

    try:
        package = package_bytes(resolved_config(_project_path(metadata), env, {}), vendor=vendor)
    except (ConfigurationError, PackageError) as exc:
        raise click.ClickException(str(exc)) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(package)
    click.echo(f"{output} ({len(package) / 1e6:.1f} MB)")


@aws.command("deploy-stack")
@click.option("--stack-name", default="ml-on-aws", show_default=True)
@click.option("--env", "-e", default=lambda: os.environ.get("KEDRO_ENV", DEFAULT_ENV), show_default="aws (or KEDRO_ENV)",
              help="Environment whose sagemaker.yml and cloudwatch.yml the functions and alarms follow.")
@click.option("--image-tag", default=None,
              help="Image the functions' jobs run. Default: the one `kedro sagemaker push-image` pushed for this commit.")
@click.option("--parameter", "-p", "pairs", multiple=True, metavar="KEY=VALUE",
              help="Any other template parameter (infra/stack.yml, docs/architecture.md); repeatable.")
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Default: infra/stack.yml of the project.")
@click.option("--vendor", type=click.Choice(["auto", "copy", "install"]), default="auto", show_default=True)
@click.option("--poll-seconds", default=10, show_default=True, hidden=True)
@click.pass_obj
def deploy_stack(metadata: Any, stack_name: str, env: str, image_tag: str | None, pairs: tuple[str, ...],
                 template: Path | None, vendor: str, poll_seconds: int) -> None:
    """Create or update the CloudFormation stack, Lambda package included, and print its outputs."""
    import boto3

    from ml_on_aws.aws.cloudwatch import load_config as load_cloudwatch_config
    from ml_on_aws.aws.cloudwatch import stack_parameters as metric_parameters
    from ml_on_aws.control.lambda_package import (
        PackageError,
        package_bytes,
        package_key,
        resolved_config,
    )
    from ml_on_aws.control.stack import (
        TEMPLATE,
        StackError,
        deploy_with_functions,
        existing_repository,
    )
    from ml_on_aws.sagemaker.config import ImageConfig

    project = _project_path(metadata)
    session = boto3.session.Session()
    region = session.region_name
    if not region:
        raise click.ClickException("No AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region).")
    parameters = {
        **metric_parameters(load_cloudwatch_config(project, env)),
        **({"DataPrefix": os.environ["ML_ON_AWS_PREFIX"].strip("/")} if os.environ.get("ML_ON_AWS_PREFIX") else {}),
        "ImageTag": image_tag if image_tag is not None else _pushed_tag(project),
        # The template's default is image.repository's default; -p RepositoryName=... for another.
        "RepositoryName": ImageConfig().repository,
        **_parameters(pairs),
    }
    parameters.setdefault("ExistingRepository", existing_repository(
        session.client("cloudformation"), session.client("ecr"), stack_name, parameters["RepositoryName"]))
    if not parameters["ImageTag"]:
        click.echo("No image pushed for this commit: the functions are left out until "
                   "`kedro sagemaker push-image` has run (or pass --image-tag).")

    def build(stack_outputs: dict[str, str]) -> tuple[bytes, str]:
        config = resolved_config(project, env, _stack_variables(stack_outputs, region))
        expected = parameters.get("JobNamePrefix", "ml-on-aws")
        if config["name_prefix"] != expected:
            raise ConfigurationError(
                f"name_prefix in sagemaker.yml is {config['name_prefix']!r} but the stack lets the functions start "
                f"only jobs named {expected}-*; pass -p JobNamePrefix={config['name_prefix']}."
            )
        check_monitoring_schedule(config, parameters, env)
        package = package_bytes(config, vendor=vendor)
        return package, package_key(stack_outputs["DataPrefix"], package)

    try:
        found = deploy_with_functions(
            session.client("cloudformation"), session.client("s3"), stack_name,
            (template or project / TEMPLATE).read_text(), parameters, build, echo=click.echo, poll_seconds=poll_seconds,
        )
    except (ConfigurationError, PackageError, StackError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Outputs:")
    for key, value in sorted(found.items()):
        click.echo(f"  {key}: {value}")
    click.echo(f"For `--env {env}`: export ML_ON_AWS_BUCKET={found['BucketName']} ML_ON_AWS_PREFIX={found['DataPrefix']} "
               f"ML_ON_AWS_SAGEMAKER_ROLE_ARN={found['SageMakerExecutionRoleArn']}")
    if found.get("DashboardUrl"):
        click.echo(f"Dashboard: {found['DashboardUrl']}")


def check_monitoring_schedule(config: dict[str, Any], parameters: dict[str, str], env: str) -> None:
    """A schedule (MonitoringPeriodHours) needs the processing job it starts in sagemaker.yml."""
    pipeline = parameters.get("MonitoringPipeline") or "monitoring"
    if parameters.get("MonitoringPeriodHours") and pipeline not in config["processing"]["pipelines"]:
        raise ConfigurationError(
            f"MonitoringPeriodHours schedules the processing job of pipeline {pipeline!r}, but "
            f"processing.pipelines.{pipeline} is not in sagemaker.yml of --env {env}; configure it "
            "(docs/architecture.md, \"Live traffic\") or leave MonitoringPeriodHours empty."
        )


def _pushed_tag(project: Path) -> str:
    from ml_on_aws.control.image import pushed_image_uri
    from ml_on_aws.core.git import git_commit

    uri = pushed_image_uri(project, git_commit(project))
    return uri.rsplit(":", 1)[1] if uri else ""
