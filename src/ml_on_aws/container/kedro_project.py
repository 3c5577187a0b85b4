"""The Kedro bootstrap of a job: the installed project seen from a scratch folder
(:func:`kedro_project`), and the plain log lines CloudWatch shows (:func:`configure_logging`).

Datasets left on their relative base paths land in the scratch folder, which is also where the
MLflow SQLite store lives unless MLFLOW_TRACKING_URI names a server: a job works in a read-only
image and leaves nothing behind but its outputs. ML_ON_AWS_PROJECT_DIR names the folder holding
pyproject.toml and conf/.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ml_on_aws.container.job_runner import JobError

PROJECT_DIR_ENV = "ML_ON_AWS_PROJECT_DIR"


class KedroProject:
    """The installed project, run from a scratch folder (see :func:`kedro_project`)."""

    def __init__(self, project_dir: Path, env: str) -> None:
        self.project_dir = project_dir
        self.env = env

    def parameters(self) -> dict[str, Any]:
        from kedro.framework.session import KedroSession

        with KedroSession.create(project_path=self.project_dir, env=self.env) as session:
            return session.load_context().params

    def run(self, runtime_params: dict[str, Any] | None = None, **run_args: Any) -> Any:
        """Run and return the catalog of the run (for the paths of its datasets)."""
        from kedro.framework.session import KedroSession

        with KedroSession.create(project_path=self.project_dir, env=self.env, runtime_params=runtime_params) as session:
            catalog = session.load_context().catalog
            session.run(**run_args)
        return catalog

    def check_inputs(self, pipeline: Any, input_root: Path) -> None:
        """Name the missing ProcessingInput before anything runs."""
        from kedro.framework.session import KedroSession

        from ml_on_aws.datasets.internals import describe_location

        with KedroSession.create(project_path=self.project_dir, env=self.env) as session:
            catalog = session.load_context().catalog
        for name in sorted(pipeline.inputs()):
            if name.startswith("params:") or name == "parameters" or name not in catalog:
                continue
            location = describe_location(catalog[name])
            if not location.startswith(str(input_root)) or catalog.exists(name):
                continue
            folder, *inside = Path(location).relative_to(input_root).parts
            if inside:  # a file in another input's folder: the model's reference rows, say
                raise JobError(f"the pipeline reads '{name}' from the input '{folder}', but {location} does not "
                               f"exist: give the job a {folder} that has {'/'.join(inside)} (a model trained by "
                               "an older image lacks it: train it again).")
            raise JobError(f"the pipeline reads '{name}', but {location} has no data: add a ProcessingInput "
                           f"with LocalPath {location}.")

    @staticmethod
    def location(catalog: Any, name: str) -> Path:
        from ml_on_aws.datasets.internals import describe_location

        return Path(describe_location(catalog[name])).resolve()


@contextlib.contextmanager
def kedro_project(env: str) -> Iterator[KedroProject]:
    """The project, seen from a fresh scratch folder that links to its pyproject.toml and conf/.

    Kedro resolves relative dataset paths against the project folder, so every dataset left on
    its base path, and the MLflow SQLite store, land in the scratch folder: a job works in a
    read-only image and leaves nothing behind but its outputs.
    """
    project_dir = Path(os.environ.get(PROJECT_DIR_ENV) or Path.cwd()).resolve()
    if not (project_dir / "pyproject.toml").is_file() or not (project_dir / "conf" / env).is_dir():
        raise JobError(f"{project_dir} is not the project (no pyproject.toml or conf/{env}); set {PROJECT_DIR_ENV}.")
    scratch = Path(tempfile.mkdtemp(prefix="ml_on_aws_job_"))
    previous = Path.cwd()
    try:
        for name in ("pyproject.toml", "conf"):
            (scratch / name).symlink_to(project_dir / name)
        (scratch / "src").mkdir()  # Kedro checks that the source folder exists; the package is installed
        os.chdir(scratch)
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(scratch)
        yield KedroProject(scratch, env)
    finally:
        os.chdir(previous)
        shutil.rmtree(scratch, ignore_errors=True)


def configure_logging() -> None:
    """Plain lines on stdout (CloudWatch) instead of Kedro's terminal formatting.

    Kedro reads KEDRO_LOGGING_CONFIG when it is first imported, so this runs before that.
    """
    if "KEDRO_LOGGING_CONFIG" in os.environ:
        return
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}},
        "loggers": {"kedro": {"level": "INFO"}, "ml_on_aws": {"level": "INFO"}},
        "root": {"level": "WARNING", "handlers": ["stdout"]},
    }
    handle, path = tempfile.mkstemp(prefix="ml_on_aws_logging_", suffix=".yml")
    with os.fdopen(handle, "w") as stream:
        json.dump(config, stream)  # JSON is YAML
    os.environ["KEDRO_LOGGING_CONFIG"] = path
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format=config["formatters"]["plain"]["format"])


