"""Project commands, available as ``kedro <command>`` inside the project."""

from __future__ import annotations

from pathlib import Path

import click


@click.group(name="ml-on-aws")
def cli() -> None:
    """Commands of the ml-on-aws project."""


def _use_project_mlflow(env: str | None) -> None:
    """Point MLflow at the project's tracking server (conf/<env>/mlflow.yml), as `kedro run` does."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(Path.cwd())
    with KedroSession.create(env=env) as session:
        session.load_context()  # kedro-mlflow's hook sets the tracking and registry URIs


@cli.command("download-model")
@click.argument("model_uri")
@click.argument("destination", type=click.Path(file_okay=False))
@click.option("--env", "-e", default=None, help="Kedro environment whose mlflow.yml to use.")
def download_model_command(model_uri: str, destination: str, env: str | None) -> None:
    """Copy MODEL_URI (e.g. models:/ml_on_aws_credit@champion) to DESTINATION as a model directory."""
    from ml_on_aws.mlflow_models import download_model

    _use_project_mlflow(env)
    click.echo(download_model(model_uri, destination))


@cli.command("serve")
@click.option("--model-dir", default="data/06_models/mlflow_model", show_default=True,
              help="MLflow model directory the training pipeline wrote.")
@click.option("--model-uri", default=None, help="Serve a registered model instead, e.g. models:/ml_on_aws_credit@champion.")
@click.option("--env", "-e", default=None, help="Kedro environment whose mlflow.yml resolves --model-uri.")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1 or ML_ON_AWS_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 8080 or SAGEMAKER_BIND_TO_PORT).")
@click.option("--workers", type=int, default=None, help="Processes (default: CPUs or SAGEMAKER_MODEL_SERVER_WORKERS).")
def serve_command(model_dir: str, model_uri: str | None, env: str | None, host: str | None,
                  port: int | None, workers: int | None) -> None:
    """Serve predictions over HTTP with the SageMaker contract (/ping, /invocations)."""
    import tempfile

    from ml_on_aws.mlflow_models import download_model
    from ml_on_aws.serving.__main__ import parse_args, serve

    if model_uri:
        _use_project_mlflow(env)
        model_dir = str(download_model(model_uri, tempfile.mkdtemp(prefix="ml_on_aws_model_")))
        click.echo(f"Serving {model_uri} from {model_dir}")
    args = ["--model-dir", model_dir]
    for flag, value in (("--host", host), ("--port", port), ("--workers", workers)):
        if value is not None:
            args += [flag, str(value)]
    serve(parse_args(args))
