"""The /opt/ml contract between SageMaker and the image: where a job finds its configuration,
channels and inputs (:class:`OptMl`), the checks that they are what this image reads, and the
outputs SageMaker takes from it: the model folder, the metric lines its MetricDefinitions match.
docs/container.md describes the layout.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_on_aws.container.job_runner import JobError
from ml_on_aws.sagemaker.config import CHANNEL_CONTENTS, OPTIONAL_CHANNELS, REQUIRED_CHANNELS

OPT_ML_ENV = "ML_ON_AWS_OPT_ML"
# The channels a training job reads (SageMaker names them after the job's InputDataConfig):
# `train`, the training table; `test`, a test table used instead of a split of `train`;
# `reference`, the reference rows of the production model, for a drift report. Other channels
# are refused rather than silently ignored.
KNOWN_CHANNELS = REQUIRED_CHANNELS + OPTIONAL_CHANNELS
METRIC_LINE = "metric: {name}={value:.8g}"
# The Regex of a SageMaker MetricDefinition for metric NAME (docs/container.md lists the names).
METRIC_REGEX = r"metric: {name}=([-+0-9.eE]+)"

logger = logging.getLogger("ml_on_aws.container")


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


def read_json(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise JobError(f"{path} is not valid JSON ({exc}).") from None


# ---- training ------------------------------------------------------------------------------

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


def publish_model(source: Path, target: Path, companions: Sequence[Path] = ()) -> None:
    """Copy the MLflow model directory's contents to /opt/ml/model (SageMaker tars that folder).

    ``companions`` are files put next to the model, under their own names: the tables a
    monitoring job compares live traffic with (reference rows, test predictions), so they travel
    in ``model.tar.gz`` with the model they describe. MLflow and the server read only the files
    MLmodel names, so extra files leave the model loadable.

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
    for companion in companions:
        if not companion.is_file():
            raise JobError(f"the pipeline wrote no {companion.name} at {companion}; the model needs it next to it.")
        shutil.copyfile(companion, incoming / companion.name)
    (target / "MLmodel").unlink(missing_ok=True)  # the old model stops being one before it goes
    for old in target.iterdir():  # a local re-run into the same folder replaces the model
        if old != incoming:
            remove(old)
    for entry in sorted(incoming.iterdir(), key=lambda entry: entry.name == "MLmodel"):
        os.replace(entry, target / entry.name)
    incoming.rmdir()
    logger.info("Model written to %s.", target)


# ---- processing ----------------------------------------------------------------------------

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


def unpack_model_input(opt_ml: OptMl) -> None:
    """Unpack the ``model`` input's model.tar.gz (the training job's artifact as S3 holds it) in
    place, so the files next to the model (reference rows, test predictions, lineage record) are
    datasets at /opt/ml/processing/input/model/<file>. Nothing to do without an archive, or when
    the folder is an unpacked model already."""
    from ml_on_aws.core.archives import extract_tar

    folder = opt_ml.processing_input / "model"
    archives = sorted(folder.glob("*.tar.gz")) if folder.is_dir() else []
    if not archives or (folder / "MLmodel").exists():
        return
    extract_tar(archives[0], folder)
    logger.info("Unpacked %s into %s.", archives[0].name, folder)


def check_processing_inputs(opt_ml: OptMl, config: dict[str, Any]) -> None:
    """Each ProcessingInput must be a folder /opt/ml/processing/input/<dataset name>."""
    for item in config.get("ProcessingInputs") or []:
        local = (item.get("S3Input") or item.get("DatasetDefinition") or {}).get("LocalPath")
        if local and Path(local).parent != Path("/opt/ml/processing/input"):
            raise JobError(f"ProcessingInput '{item.get('InputName')}' has LocalPath {local}; this image reads "
                           "/opt/ml/processing/input/<dataset name>, e.g. /opt/ml/processing/input/new_data.")

