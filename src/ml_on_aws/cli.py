"""Project commands, available as ``kedro <command>`` inside the project."""

from __future__ import annotations

from pathlib import Path

import click

from ml_on_aws.cli_errors import kedro_run_with_short_errors
from ml_on_aws.control.aws_cli import aws
from ml_on_aws.control.lineage_cli import lineage
from ml_on_aws.control.sagemaker_cli import sagemaker


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
    from ml_on_aws.control.upload import upload_inputs

    for transfer in upload_inputs(metadata.project_path, env, from_env, pipeline_name, overwrite):
        action = "uploaded" if transfer.copied else "kept existing (use --overwrite to replace)"
        click.echo(f"{transfer.dataset}: {transfer.source} -> {transfer.target} [{action}]")


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
    """Copy MODEL_URI (e.g. models:/ml_on_aws_credit_data@champion) to DESTINATION as a model directory."""
    from ml_on_aws.core.mlflow_models import download_model

    _use_project_mlflow(env)
    click.echo(download_model(model_uri, destination))


@cli.command("serve")
@click.option("--model-dir", default="data/06_models/mlflow_model", show_default=True,
              help="MLflow model directory the training pipeline wrote.")
@click.option("--model-uri", default=None, help="Serve a registered model instead, e.g. models:/ml_on_aws_credit_data@champion.")
@click.option("--env", "-e", default=None, help="Kedro environment whose mlflow.yml resolves --model-uri.")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1 or ML_ON_AWS_HOST).")
@click.option("--port", type=int, default=None, help="Port (default 8080 or SAGEMAKER_BIND_TO_PORT).")
@click.option("--workers", type=int, default=None, help="Processes (default: CPUs or SAGEMAKER_MODEL_SERVER_WORKERS).")
@click.option("--allow-rejected", is_flag=True, help="Serve a model directory even if its quality gate rejected it.")
@click.pass_obj
def serve_command(metadata, model_dir: str, model_uri: str | None, env: str | None, host: str | None,
                  port: int | None, workers: int | None, allow_rejected: bool) -> None:
    """Serve predictions over HTTP with the SageMaker contract (/ping, /invocations)."""
    import tempfile

    from ml_on_aws.container.serving.__main__ import parse_args, serve
    from ml_on_aws.core.mlflow_models import download_model

    if model_uri:
        _use_project_mlflow(env)
        model_dir = str(download_model(model_uri, tempfile.mkdtemp(prefix="ml_on_aws_model_")))
        click.echo(f"Serving {model_uri} from {model_dir}")
    else:
        _publish_committed_runs(metadata, env)
        if not allow_rejected:
            _refuse_rejected_model(Path(model_dir))
    args = ["--model-dir", model_dir]
    for flag, value in (("--host", host), ("--port", port), ("--workers", workers)):
        if value is not None:
            args += [flag, str(value)]
    serve(parse_args(args))


def _publish_committed_runs(metadata, env: str | None) -> None:
    """A run stopped after its commit but before it published its model: publish it first, as
    the next run would, so that the server starts with the last committed model."""
    from ml_on_aws.datasets import runs as run_commits

    session, catalog = _run_catalog(metadata, env)
    with session:
        store = run_commits.store_of(catalog)
        for published in run_commits.publish_committed(store) if store is not None else []:
            click.echo(f"Published {published} of a run that had committed but not published it.")


def _refuse_rejected_model(model_dir: Path) -> None:
    """The model directory holds the latest run's model, accepted or not: never serve a rejected
    one by accident (the registry's champion is the last good model)."""
    import yaml

    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        return  # the server names the missing model
    gate = (yaml.safe_load(mlmodel.read_text(encoding="utf-8")).get("metadata") or {}).get("quality_gate") or {}
    if gate.get("accepted") is False:
        raise click.ClickException(
            f"The model in {model_dir} did not pass the quality gate ({gate.get('reason')}). Serve the last "
            "good model with --model-uri models:/<registered name>@champion, or pass --allow-rejected."
        )


@cli.group()
def validation() -> None:
    """Data validation: expectation suites for Great Expectations."""


@validation.command("init-suite")
@click.option("--dataset", default="raw_data", show_default=True, help="Catalog entry to describe (with the target).")
@click.option("--env", "-e", default=None, help="Kedro environment whose catalog and parameters to use.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Suite file to write. Default: the file of the catalog entry 'expectation_suite'.")
@click.option("--force", is_flag=True, help="Overwrite an existing suite file.")
@click.pass_obj
def init_suite(metadata, dataset: str, env: str | None, output: Path | None, force: bool) -> None:
    """Write a starting expectation suite from a dataset: review it, then edit it."""
    from kedro.framework.session import KedroSession

    from ml_on_aws.core.config import DataConfig, ValidationConfig, parse
    from ml_on_aws.datasets.internals import describe_location
    from ml_on_aws.pipelines.data_validation.suite import build_suite, suite_to_yaml

    with KedroSession.create(project_path=metadata.project_path, env=env) as session:
        context = session.load_context()
        frame = context.catalog.load(dataset)
        params = context.params
        source = _relative(describe_location(context.catalog[dataset]), metadata.project_path)
        target = output or Path(describe_location(context.catalog["expectation_suite"]))
    target = target if target.is_absolute() else metadata.project_path / target
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; pass --force to overwrite it or --output for another file.")
    settings = parse(ValidationConfig, params.get("validation", {}), "validation")
    suite = build_suite(
        frame, parse(DataConfig, params["data"], "data"), name=dataset,
        max_categories=settings.max_categories, null_tolerance=settings.null_tolerance,
    )
    header = SUITE_HEADER.format(dataset=dataset, source=source, rows=len(frame))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(suite_to_yaml(suite, header), encoding="utf-8")
    click.echo(f"Wrote {len(suite.expectations)} expectations from '{dataset}' ({source}) to {target}.")


def _relative(location: str, project_path: Path) -> str:
    path = Path(location)
    return str(path.relative_to(project_path)) if path.is_relative_to(project_path) else location


SUITE_HEADER = """\
Expectation suite for the training table and new data, checked by the data_validation
pipeline with Great Expectations before anything else runs (see docs/validation.md).
Generated by `kedro validation init-suite --dataset {dataset}` from {source} ({rows} rows):
a starting point; review and edit it like code.

Each entry: type and kwargs of a Great Expectations expectation
(https://greatexpectations.io/expectations), and
  severity: critical  stops the run before feature engineering / inference, naming the failures
            warning   is logged and written to the validation report; the run goes on
  applies_to: training (the table with the target) and/or new_data (rows to score)"""


@cli.group()
def runs() -> None:
    """Runs and what they left: committed runs, and the files of runs that never committed."""


def _run_catalog(metadata, env: str | None):
    from kedro.framework.session import KedroSession

    session = KedroSession.create(project_path=metadata.project_path, env=env)
    return session, session.load_context().catalog


@runs.command("list")
@click.option("--env", "-e", default=None, help="Kedro environment whose runs to list (e.g. aws).")
@click.option("--limit", default=10, show_default=True, help="Committed runs shown.")
@click.pass_obj
def runs_list(metadata, env: str | None, limit: int) -> None:
    """List committed runs (newest is current) and runs that never committed, with their files."""
    from ml_on_aws.datasets import runs as run_commits

    session, catalog = _run_catalog(metadata, env)
    with session:
        for line in run_commits.describe(run_commits.survey(catalog), limit=limit):
            click.echo(line)


@runs.command("clean")
@click.option("--env", "-e", default=None, help="Kedro environment whose runs to clean (e.g. aws).")
@click.option("--older-than", "older_than", type=float, default=None,
              help="Only runs started more than this many minutes ago (default: all on the local disk, "
                   "where the project lock says whether a run is going on; 60 on S3, which has no lock).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed, remove nothing.")
@click.pass_obj
def runs_clean(metadata, env: str | None, older_than: float | None, dry_run: bool) -> None:
    """Remove the versions and staged files of runs that failed or were killed before committing."""
    from ml_on_aws.datasets import runs as run_commits

    session, catalog = _run_catalog(metadata, env)
    with session:
        store = run_commits.store_of(catalog)
        if older_than is None and store is not None and not store.local:
            older_than = 60.0
        removed, kept = run_commits.clean(catalog, older_than, dry_run)
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {len(removed)} item(s) of runs that did not commit" + (":" if removed else "."))
    for item in removed:
        click.echo(f"  {item}")
    for item in kept:
        click.echo(f"Kept {item}")


# `kedro sagemaker ...`
cli.add_command(sagemaker)

# `kedro aws ...` (Lambda package, CloudFormation stack)
cli.add_command(aws)

# `kedro lineage`: from an endpoint, a model version or a run back to data, code and image
cli.add_command(lineage)

# `kedro run`, printing the project's user-fixable errors as messages (ml_on_aws.cli_errors).
cli.add_command(kedro_run_with_short_errors())
