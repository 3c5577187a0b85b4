"""The container's one entry point, dispatching on how SageMaker starts it.

    python -m ml_on_aws.container train                 # training job: docker run IMAGE train
    python -m ml_on_aws.container process PIPELINE [--params k=v,...]  # processing job (ContainerArguments)
    python -m ml_on_aws.container serve [--workers N]   # endpoint: docker run IMAGE serve

``train`` and ``process`` run the Kedro pipelines with the ``sagemaker`` and
``sagemaker_processing`` environments (conf/), whose catalogs map the datasets onto /opt/ml.
Datasets left on their relative base paths land in a scratch folder, which is also where the
MLflow SQLite store lives unless MLFLOW_TRACKING_URI names a server. Any failure writes one
paragraph to /opt/ml/output/failure (training) or /opt/ml/output/message (processing) and
exits non-zero. SIGTERM (a stopped job) fails the job the same way, and a job that has not
ended ML_ON_AWS_STOP_GRACE_SECONDS (default 20) later is ended forcibly. Environment:
ML_ON_AWS_OPT_ML (the /opt/ml root), ML_ON_AWS_PROJECT_DIR (the folder holding pyproject.toml
and conf/). See docs/container.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from ml_on_aws.container.runtime_params import runtime_params
from ml_on_aws.sagemaker.config import CHANNEL_CONTENTS, OPTIONAL_CHANNELS, REQUIRED_CHANNELS

OPT_ML_ENV = "ML_ON_AWS_OPT_ML"
PROJECT_DIR_ENV = "ML_ON_AWS_PROJECT_DIR"
TRAINING_ENV = "sagemaker"
PROCESSING_ENV = "sagemaker_processing"
# The channels a training job reads (SageMaker names them after the job's InputDataConfig):
# `train`, the training table; `test`, a test table used instead of a split of `train`;
# `reference`, the reference rows of the production model, for a drift report. Other channels
# are refused rather than silently ignored.
KNOWN_CHANNELS = REQUIRED_CHANNELS + OPTIONAL_CHANNELS
METRIC_LINE = "metric: {name}={value:.8g}"
# The Regex of a SageMaker MetricDefinition for metric NAME (docs/container.md lists the names).
METRIC_REGEX = r"metric: {name}=([-+0-9.eE]+)"
# SageMaker keeps the first 1024 characters of the failure reason.
_FAILURE_LIMIT = 1000
# Seconds from SIGTERM to a forced exit (see _stop_on_sigterm). SageMaker sends SIGKILL 120 s
# after SIGTERM, `docker stop` after 10 s unless told otherwise.
STOP_GRACE_ENV = "ML_ON_AWS_STOP_GRACE_SECONDS"
DEFAULT_STOP_GRACE = 20.0
STOPPED_REASON = "stopped by SIGTERM (job stopped or timed out)"

logger = logging.getLogger("ml_on_aws.container")


class JobError(Exception):
    """A failure whose message is the reason to report as it is."""


@dataclass(frozen=True)
class OptMl:
    """The paths SageMaker uses, under a root that tests can move (ML_ON_AWS_OPT_ML)."""

    root: Path

    @classmethod
    def from_env(cls) -> OptMl:
        return cls(Path(os.environ.get(OPT_ML_ENV) or "/opt/ml"))

    @property
    def input_config(self) -> Path:
        return self.root / "input" / "config"

    def channel(self, name: str) -> Path:
        return self.root / "input" / "data" / name

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output_data(self) -> Path:
        return self.root / "output" / "data"

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def processing_message_file(self) -> Path:
        return self.root / "output" / "message"

    @property
    def processing_input(self) -> Path:
        return self.root / "processing" / "input"

    @property
    def processing_config(self) -> Path:
        return self.root / "config" / "processingjobconfig.json"


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


def run_job(title: str, failure_file: Path, job: Any) -> int:
    """Run ``job``; on any failure write one paragraph to ``failure_file`` and return 1."""
    try:
        _stop_on_sigterm(title, failure_file, stop_grace())
        job()
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the failure file
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            return 0
        reason = f"{title} failed: {describe_failure(exc)}"
        logger.error(reason, exc_info=not isinstance(exc, JobError | KeyboardInterrupt))
        failure_file.parent.mkdir(parents=True, exist_ok=True)
        failure_file.write_text(reason[:_FAILURE_LIMIT] + "\n", encoding="utf-8")
        return 1
    logger.info("%s finished.", title)
    return 0


def describe_failure(exc: BaseException) -> str:
    """One paragraph: the error's own message (which names the file, column or key), its type
    when that adds something, and the exceptions it came from."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 3:
        message = " ".join(str(seen).split()) or "(no message)"
        known = isinstance(seen, JobError) or type(seen).__name__ in ("ConfigurationError", "HyperparameterError", "DatasetError")
        parts.append(message if known else f"{type(seen).__name__}: {message}")
        seen = seen.__cause__
    return " Caused by: ".join(parts)


def stop_grace() -> float:
    value = os.environ.get(STOP_GRACE_ENV) or str(DEFAULT_STOP_GRACE)
    try:
        grace = float(value)
    except ValueError:
        grace = -1.0
    if not 0 < grace < float("inf"):
        raise JobError(f"{STOP_GRACE_ENV}={value!r} is not a number of seconds above 0.")
    return grace


def _stop_on_sigterm(title: str, failure_file: Path, grace: float) -> None:
    """SageMaker stops a job with SIGTERM; as PID 1 Python would ignore it without a handler.

    The handler raises KeyboardInterrupt, so the job fails through run_job like any failure. It
    also starts a watchdog: the unwinding may not end (a library's cleanup that waits on its
    worker processes, as joblib's did when it could not kill them; a C call that never returns
    to the interpreter), and then SIGKILL would end the job with exit code 137 and possibly no
    failure file. After ``grace`` seconds the watchdog writes the failure file if it is still
    missing, kills this process's descendants and exits with 1 without running exit handlers.
    """
    started: list[threading.Thread] = []

    def stop(signum: int, frame: Any) -> None:
        if not started:
            # A daemon thread, so a job that does end in time exits at once rather than after `grace`.
            watchdog = threading.Timer(grace, _force_exit, args=(title, failure_file, grace))
            watchdog.daemon = True
            watchdog.start()
            started.append(watchdog)
        raise KeyboardInterrupt(STOPPED_REASON)

    signal.signal(signal.SIGTERM, stop)


def _force_exit(title: str, failure_file: Path, grace: float) -> None:
    """The watchdog's end of a stopped job. The main thread may be stuck holding a lock (logging's,
    a stream's, an import's), so this writes with os.write, logs nothing and imports nothing."""
    try:
        message = f"{title} failed: {STOPPED_REASON}; still running {grace:g} s later, so ended forcibly."
        os.write(2, f"{message}\n".encode())
        if not failure_file.exists():
            failure_file.parent.mkdir(parents=True, exist_ok=True)
            failure_file.write_text(message[:_FAILURE_LIMIT] + "\n", encoding="utf-8")
        _kill_descendants()
    finally:
        os._exit(1)


def _kill_descendants() -> None:
    """SIGKILL every process this one started (pool workers and their children), deepest first:
    outside a container nothing else would end them once this process is gone."""
    for child in reversed(psutil.Process().children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            child.kill()


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
        publish_model(project.location(catalog, "mlflow_model"), opt_ml.model)


def check_resources(resources: dict[str, Any] | None) -> None:
    if not resources:
        return
    hosts = resources.get("hosts") or []
    logger.info("Host %s of %s.", resources.get("current_host"), hosts)
    if len(hosts) > 1:
        raise JobError(f"training runs on one instance, but the job has {len(hosts)} ({', '.join(hosts)}); "
                       "set InstanceCount to 1.")


def check_channels(opt_ml: OptMl, data_config: dict[str, Any] | None) -> list[str]:
    """The channels the job has: declared ones are ones this job reads, in File mode; `train`
    has files, and so has an optional channel that is declared (or whose folder exists)."""
    for name, settings in (data_config or {}).items():
        if name not in KNOWN_CHANNELS:
            raise JobError(f"unknown input channel '{name}' in inputdataconfig.json; this job reads: "
                           f"{', '.join(KNOWN_CHANNELS)}.")
        mode = (settings or {}).get("TrainingInputMode", "File")
        if mode not in ("File", "FastFile"):
            raise JobError(f"channel '{name}' uses TrainingInputMode {mode}; use File or FastFile.")
    for name in REQUIRED_CHANNELS:
        if not _has_files(opt_ml.channel(name)):
            raise JobError(f"the '{name}' channel is missing or empty: no files in {opt_ml.channel(name)}. Give the "
                           f"job an input channel named '{name}' with {CHANNEL_CONTENTS[name]}.")
    given = [name for name in OPTIONAL_CHANNELS if name in (data_config or {}) or opt_ml.channel(name).exists()]
    for name in given:
        if not _has_files(opt_ml.channel(name)):
            raise JobError(f"the '{name}' channel is empty: no files in {opt_ml.channel(name)}. Give it "
                           f"{CHANNEL_CONTENTS[name]}, or leave the channel out.")
    return [*REQUIRED_CHANNELS, *given]


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(path.is_file() for path in folder.rglob("*"))


def report_metrics(opt_ml: OptMl) -> dict[str, float]:
    """Print the scores as ``metric: name=value`` lines (SageMaker MetricDefinitions) and save them."""
    import pandas as pd

    from ml_on_aws.pipelines.registry.nodes import flatten_metrics

    report = read_json(opt_ml.output_data / "evaluation_report.json", default={})
    cv_file = opt_ml.output_data / "cv_results.csv"
    cv_results = pd.read_csv(cv_file) if cv_file.is_file() else pd.DataFrame()
    metrics = {name.replace(".", "_"): entry["value"] for name, entry in flatten_metrics(report, cv_results).items()}
    signal = read_json(opt_ml.output_data / "drift" / "retrain_signal.json", default=None)
    if signal is not None:  # the job had a `reference` channel
        metrics.update(drift_metrics(signal))
    for name, value in sorted(metrics.items()):
        print(METRIC_LINE.format(name=name, value=value), flush=True)  # noqa: T201 - read by SageMaker
    (opt_ml.output_data / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics


def drift_metrics(signal: dict[str, Any]) -> dict[str, float]:
    """The retrain signal's numbers (as CloudWatch gets them) and the share of columns that drifted."""
    from ml_on_aws.aws.cloudwatch import drift_metrics as signal_metrics

    metrics = signal_metrics(signal)
    if metrics.get("drift_checked_columns"):
        metrics["drift_share"] = metrics["drift_drifted_columns"] / metrics["drift_checked_columns"]
    return metrics


def publish_model(source: Path, target: Path) -> None:
    """Copy the MLflow model directory's contents to /opt/ml/model (SageMaker tars that folder).

    The copy is made aside, in a hidden folder inside the target (``/opt/ml/model`` may be a
    mount of its own, which a rename cannot cross), then its entries are renamed into place with
    MLmodel last, after the old MLmodel went first: /opt/ml/model holds an MLmodel file only
    when the whole model is there, and a hidden folder is never taken for a model.
    """
    from ml_on_aws.datasets.published import remove

    source = source.resolve()  # data/06_models/mlflow_model is a symlink to the run's folder
    if not (source / "MLmodel").is_file():
        raise JobError(f"the pipeline wrote no MLflow model at {source}.")
    target.mkdir(parents=True, exist_ok=True)
    incoming = target / f".incoming-{os.getpid()}"
    remove(incoming)
    shutil.copytree(source, incoming)
    (target / "MLmodel").unlink(missing_ok=True)  # the old model stops being one before it goes
    for old in target.iterdir():  # a local re-run into the same folder replaces the model
        if old != incoming:
            remove(old)
    for entry in sorted(incoming.iterdir(), key=lambda entry: entry.name == "MLmodel"):
        os.replace(entry, target / entry.name)
    incoming.rmdir()
    logger.info("Model written to %s.", target)


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
    with kedro_project(PROCESSING_ENV) as project:
        from kedro.framework.project import pipelines

        if pipeline_name not in pipelines:
            raise JobError(f"no pipeline named '{pipeline_name}'; the pipelines are: "
                           f"{', '.join(sorted(p for p in pipelines if p != '__default__'))}.")
        project.check_inputs(pipelines[pipeline_name], opt_ml.processing_input)
        project.run(pipeline_names=[pipeline_name], runtime_params=params or None)


def unfilled_shards(opt_ml: OptMl, config: dict[str, Any]) -> list[str]:
    """The ShardedByS3Key inputs that gave this instance no file (LocalPaths are checked already)."""
    empty = []
    for item in config.get("ProcessingInputs") or []:
        s3_input = item.get("S3Input") or {}
        local = s3_input.get("LocalPath")
        sharded = s3_input.get("S3DataDistributionType") == "ShardedByS3Key"
        if sharded and local and not _has_files(opt_ml.processing_input / Path(local).name):
            empty.append(str(item.get("InputName") or local))
    return empty


def check_processing_inputs(opt_ml: OptMl, config: dict[str, Any]) -> None:
    """Each ProcessingInput must be a folder /opt/ml/processing/input/<dataset name>."""
    for item in config.get("ProcessingInputs") or []:
        local = (item.get("S3Input") or item.get("DatasetDefinition") or {}).get("LocalPath")
        if local and Path(local).parent != Path("/opt/ml/processing/input"):
            raise JobError(f"ProcessingInput '{item.get('InputName')}' has LocalPath {local}; this image reads "
                           "/opt/ml/processing/input/<dataset name>, e.g. /opt/ml/processing/input/new_data.")


# ---- Kedro ---------------------------------------------------------------------------------

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
            if location.startswith(str(input_root)) and not catalog.exists(name):
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


def read_json(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise JobError(f"{path} is not valid JSON ({exc}).") from None


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


def cli() -> None:
    configure_logging()
    sys.exit(main())


if __name__ == "__main__":
    cli()
