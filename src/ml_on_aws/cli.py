"""Project commands, available as ``kedro <command>`` inside the project."""

from __future__ import annotations

import click

from ml_on_aws.sagemaker.cli import sagemaker


@click.group(name="ml-on-aws")
def cli() -> None:
    """Commands of the ml-on-aws project."""


# `kedro sagemaker ...`
cli.add_command(sagemaker)
