"""``kedro lineage``: print where a model came from (see :mod:`ml_on_aws.control.lineage`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.command(name="lineage")
@click.option("--run", "run", metavar="ID", help="A Kedro run version (2026-12-06T02.34.35.042Z) or an MLflow run id.")
@click.option("--model", "model", metavar="NAME/VERSION|NAME@ALIAS",
              help="A registered model version: ml_on_aws_credit_data/3 or ml_on_aws_credit_data@champion.")
@click.option("--endpoint", "endpoint", metavar="NAME", help="A SageMaker endpoint: its config's tags name the model version.")
@click.option("--env", "-e", default=None, help="Kedro environment whose mlflow.yml and run store to read (default: local).")
@click.option("--region", default=None, help="AWS region of --endpoint (default: the AWS configuration's).")
@click.option("--json", "as_json", is_flag=True, help="Print what was found as JSON.")
@click.pass_obj
def lineage(metadata: Any, run: str | None, model: str | None, endpoint: str | None, env: str | None,
            region: str | None, as_json: bool) -> None:
    """Print the chain from an endpoint, a registered model version or a run back to its data:
    endpoint -> endpoint config -> model version -> MLflow run -> Kedro run (datasets and
    versions) -> identity of the data read -> git commit -> image.

    Without an option: the champion of the project's registered model, else the newest committed run."""
    from ml_on_aws.control import lineage as tracing
    from ml_on_aws.core.lineage import LineageError

    chosen = [flag for flag, value in (("--run", run), ("--model", model), ("--endpoint", endpoint)) if value]
    if len(chosen) > 1:
        raise click.UsageError(f"Give one of --run, --model, --endpoint (got {' and '.join(chosen)}).")
    try:
        tracer = _tracer(Path(metadata.project_path) if metadata is not None else Path.cwd(), env, region)
        if endpoint:
            trace = tracer.from_endpoint(endpoint)
        elif model:
            trace = tracer.from_model(model)
        elif run:
            trace = tracer.from_run(run)
        else:
            trace = tracer.default()
    except LineageError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(tracing.as_json(trace))
        return
    for line in tracing.render(trace):
        click.echo(line)


def _tracer(project_path: Path, env: str | None, region: str | None) -> Any:
    """A tracer on the project's MLflow tracking server and run store, as `kedro run` in ``env`` sees them."""
    import mlflow
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from ml_on_aws.control.lineage import Tracer
    from ml_on_aws.datasets import runs

    bootstrap_project(project_path)
    with KedroSession.create(project_path=project_path, env=env) as session:
        catalog = session.load_context().catalog  # kedro-mlflow's hook sets the tracking and registry URIs
        store = runs.store_of(catalog)
        registered = catalog.get("registered_model") if "registered_model" in catalog else None
    aws_client = None
    if region:
        import boto3

        aws_client = boto3.Session(region_name=region).client
    return Tracer(mlflow.MlflowClient(), store, tracking_uri=mlflow.get_tracking_uri(),
                  model_name=getattr(registered, "model_name", None), aws_client=aws_client)
