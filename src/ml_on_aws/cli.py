"""Project commands, available as ``kedro <command>`` inside the project."""

from __future__ import annotations

import click


@click.group(name="ml-on-aws")
def cli() -> None:
    """Commands of the ml-on-aws project."""
