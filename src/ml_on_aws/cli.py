"""Project commands, available as ``kedro <command>`` inside the project."""

from __future__ import annotations

import click

from ml_on_aws.aws.cli import aws
from ml_on_aws.sagemaker.cli import sagemaker


@click.group(name="ml-on-aws")
def cli() -> None:
    """Commands of the ml-on-aws project."""


@cli.group()
def data() -> None:
    """Move the pipeline's input data between environments."""


@data.command()
@click.option("--env", "-e", default="aws", show_default=True, help="Environment to upload to.")
@click.option("--from-env", default="local", show_default=True, help="Environment whose files are uploaded.")
@click.option("--pipeline", "-p", "pipeline_name", default="__default__", show_default=True,
              help="Upload the datasets this pipeline reads but does not produce.")
@click.option("--overwrite", is_flag=True, help="Replace objects that already exist (kept by default).")
@click.pass_obj
def upload(metadata, env: str, from_env: str, pipeline_name: str, overwrite: bool) -> None:
    """Upload the pipeline's input files (the bundled raw data) to where ENV reads them.

    With the defaults: the raw data of conf/base goes to s3://$ML_ON_AWS_BUCKET/$ML_ON_AWS_PREFIX/.
    """
    from ml_on_aws.aws.upload import upload_inputs

    for transfer in upload_inputs(metadata.project_path, env, from_env, pipeline_name, overwrite):
        action = "uploaded" if transfer.copied else "kept existing (use --overwrite to replace)"
        click.echo(f"{transfer.dataset}: {transfer.source} -> {transfer.target} [{action}]")


# `kedro sagemaker ...`
cli.add_command(sagemaker)

# `kedro aws ...` (Lambda package, CloudFormation stack)
cli.add_command(aws)
