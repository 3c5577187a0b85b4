"""``kedro lineage``: from an endpoint, a registered model version or a run back to its data, code and image.

The chain, each link read from where it is kept:

    endpoint            SageMaker describe_endpoint: its endpoint config
    endpoint config     its tags ml-on-aws:model-version and ml-on-aws:mlflow-run-id (set by `kedro sagemaker deploy`)
    SageMaker model     describe_model: the model.tar.gz and the image it serves
    model version       the MLflow registry: its run, aliases and lineage tags
    MLflow run          the tracking server: status, experiment, artifact lineage.json (ml_on_aws.core.lineage)
    Kedro run           the run manifest <runs root>/committed/<version>.json: datasets read and saved, with versions
    data read           the lineage record: S3 version id / ETag + last modified, or local size, time and SHA-256
    git commit, image   the lineage record

A link that is not where it should be (a model trained in a SageMaker job whose MLflow store was
the job's own, a manifest of another environment) is said so, and the chain goes on from the
lineage record the model itself carries (``lineage.json`` in its model directory or model.tar.gz).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_on_aws.core import lineage
from ml_on_aws.core.lineage import LineageError
from ml_on_aws.datasets.runs import RunStore, version_time
from ml_on_aws.sagemaker import requests as rq

_LABEL_WIDTH = 18
_PROGRESS_BAR_VARIABLE = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


@dataclass
class Trace:
    """What was found along the chain; None where a link is absent or unknown."""

    subject: str
    endpoint: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    record: dict[str, Any] | None = None
    record_source: str | None = None
    manifest: dict[str, Any] | None = None
    manifest_location: str | None = None
    notes: list[str] = field(default_factory=list)


class Tracer:
    """Follows the chain with an MLflow client, the environment's run store and, for endpoints,
    SageMaker and S3 clients (made on first use)."""

    def __init__(self, mlflow_client: Any, store: RunStore | None, *, tracking_uri: str,
                 model_name: str | None = None, aws_client: Callable[[str], Any] | None = None) -> None:
        self.mlflow = mlflow_client
        self.store = store
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self._aws_client = aws_client

    # ---- entry points -----------------------------------------------------------------------

    def from_endpoint(self, name: str) -> Trace:
        from botocore.exceptions import ClientError

        sagemaker = self._aws("sagemaker")
        try:
            endpoint = sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
                raise LineageError(f"No SageMaker endpoint named {name!r} "
                                   f"(region {sagemaker.meta.region_name}, {sagemaker.meta.endpoint_url}).") from None
            raise
        trace = Trace(f"endpoint {name}")
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"]}
        variants = config["ProductionVariants"]
        deployed = [image.get("ResolvedImage") for variant in endpoint.get("ProductionVariants", [])
                    for image in variant.get("DeployedImages", []) if image.get("ResolvedImage")]
        trace.endpoint = {"name": name, "status": endpoint.get("EndpointStatus"), "config": config["EndpointConfigName"],
                          "tags": {key: value for key, value in tags.items() if key.startswith("ml-on-aws:")},
                          "variants": [variant["VariantName"] for variant in variants], "deployed_images": deployed}
        model_name = variants[0].get("ModelName") if variants else None
        if model_name:
            try:
                container = sagemaker.describe_model(ModelName=model_name).get("PrimaryContainer", {})
                trace.endpoint["model"] = {"name": model_name, "data": container.get("ModelDataUrl"),
                                           "image": container.get("Image")}
            except ClientError as exc:
                trace.endpoint["model"] = {"name": model_name, "error": exc.response["Error"].get("Message", str(exc))}
        label, run_id = tags.get(rq.TAG_MODEL_VERSION), tags.get(rq.TAG_MLFLOW_RUN_ID)
        if not label and not run_id:
            trace.notes.append(f"The endpoint config has no {rq.TAG_MODEL_VERSION} / {rq.TAG_MLFLOW_RUN_ID} tags "
                               "(deployed before lineage was recorded).")
        if label:
            name_, version, _ = lineage.parse_model_reference(label)
            try:
                self._load_model_version(trace, name_, version=version)
            except LineageError as exc:
                trace.notes.append(str(exc))
        if trace.run is None and run_id:
            self._load_run(trace, run_id, required=False)
        data = (trace.endpoint.get("model") or {}).get("data")
        if trace.record is None and data:
            from ml_on_aws.sagemaker.models import model_lineage

            trace.record = model_lineage(self._aws("s3"), data)
            trace.record_source = f"{data} ({lineage.LINEAGE_FILE})" if trace.record else None
        return self._complete(trace)

    def from_model(self, reference: str) -> Trace:
        name, version, alias = lineage.parse_model_reference(reference)
        trace = Trace(f"model {reference}")
        self._load_model_version(trace, name, version=version, alias=alias)
        return self._complete(trace)

    def from_run(self, run: str) -> Trace:
        """A Kedro run version (``2026-12-06T02.34.35.042Z``) or an MLflow run id."""
        trace = Trace(f"run {run}")
        if version_time(run) is not None:
            self._load_manifest(trace, run)
            run_id = self._mlflow_run_of(run)
            if run_id is not None:
                self._load_run(trace, run_id, required=True)
            elif trace.manifest is None:
                raise LineageError(f"No run {run}: no committed run of that version in {self._store_shown()} and no "
                                   f"MLflow run tagged {lineage.TAG_KEDRO_RUN}={run} at {self.tracking_uri}.")
            else:
                trace.notes.append(f"No MLflow run at {self.tracking_uri} is tagged {lineage.TAG_KEDRO_RUN}={run}.")
        else:
            self._load_run(trace, run, required=True)
        return self._complete(trace)

    def default(self) -> Trace:
        """The champion of the project's registered model, else the newest committed run."""
        if self.model_name:
            try:
                trace = self.from_model(f"{self.model_name}@champion")
                trace.subject = f"the champion, {self.model_name}@champion"
                return trace
            except LineageError:
                pass
        committed = sorted(self.store.committed_versions() or []) if self.store is not None else []
        if committed:
            trace = self.from_run(committed[-1])
            trace.subject = f"the newest committed run, {committed[-1]}"
            return trace
        raise LineageError(f"Nothing to trace: no {self.model_name or 'registered model'}@champion at {self.tracking_uri} "
                           f"and no committed run in {self._store_shown()}; train one with `kedro run`, or name "
                           "--run, --model or --endpoint.")

    # ---- links -----------------------------------------------------------------------------

    def _aws(self, service: str) -> Any:
        if self._aws_client is None:
            import boto3

            self._aws_client = boto3.Session().client
        return self._aws_client(service)

    def _store_shown(self) -> str:
        return self.store.location if self.store is not None else "this environment (no run_manifests entry)"

    def _load_model_version(self, trace: Trace, name: str, *, version: str | None = None, alias: str | None = None) -> None:
        from mlflow.exceptions import MlflowException

        try:
            found = (self.mlflow.get_model_version(name, version) if version is not None
                     else self.mlflow.get_model_version_by_alias(name, alias))
        except MlflowException:
            known = sorted(model.name for model in self.mlflow.search_registered_models())
            what = f"{name}/{version}" if version is not None else f"{name}@{alias}"
            raise LineageError(f"No model version {what} in the registry at {self.tracking_uri} (registered models: "
                               f"{', '.join(known) or 'none'}).") from None
        trace.model = {"name": found.name, "version": str(found.version), "aliases": list(found.aliases or []),
                       "created": _time(found.creation_timestamp), "run_id": found.run_id}
        if found.run_id:
            self._load_run(trace, found.run_id, required=False)

    def _load_run(self, trace: Trace, run_id: str, *, required: bool) -> None:
        from mlflow.exceptions import MlflowException

        try:
            run = self.mlflow.get_run(run_id)
        except MlflowException:
            message = f"No MLflow run {run_id} at {self.tracking_uri}"
            if required:
                raise LineageError(message + " (give an MLflow run id or a Kedro run version such as "
                                   "2026-12-06T02.34.35.042Z; `kedro runs list` lists the committed ones).") from None
            trace.notes.append(message + ".")
            trace.run = {"run_id": run_id, "missing": True}
            return
        experiment = self.mlflow.get_experiment(run.info.experiment_id)
        trace.run = {"run_id": run_id, "status": run.info.status, "experiment": getattr(experiment, "name", None),
                     "started": _time(run.info.start_time), "tags": dict(run.data.tags)}
        if trace.record is None:
            trace.record = self._run_record(run_id)
            if trace.record is not None:
                trace.record_source = f"MLflow run {run_id} artifact {lineage.LINEAGE_FILE}"

    def _run_record(self, run_id: str) -> dict[str, Any] | None:
        if lineage.LINEAGE_FILE not in {item.path for item in self.mlflow.list_artifacts(run_id)}:
            return None
        with tempfile.TemporaryDirectory() as folder, _no_progress_bar():
            path = self.mlflow.download_artifacts(run_id, lineage.LINEAGE_FILE, folder)
            return lineage.parse_record(Path(path).read_text(encoding="utf-8"), f"MLflow run {run_id} {lineage.LINEAGE_FILE}")

    def _mlflow_run_of(self, version: str) -> str | None:
        experiments = [experiment.experiment_id for experiment in self.mlflow.search_experiments()]
        if not experiments:
            return None
        found = self.mlflow.search_runs(experiments, filter_string=f"tags.`{lineage.TAG_KEDRO_RUN}` = '{version}'",
                                        max_results=1, order_by=["attributes.start_time DESC"])
        return found[0].info.run_id if found else None

    def _load_manifest(self, trace: Trace, version: str) -> None:
        if self.store is None or version not in (self.store.committed_versions() or set()):
            return
        trace.manifest = self.store.read("committed", version)
        trace.manifest_location = self.store.shown("committed", f"{version}.json")

    def _complete(self, trace: Trace) -> Trace:
        """Fill the links the record names but the way in did not reach: the Kedro run's manifest, the model."""
        record = trace.record or {}
        version = (record.get("kedro_run") or {}).get("version") or ((trace.run or {}).get("tags") or {}).get(lineage.TAG_KEDRO_RUN)
        if trace.manifest is None and version:
            self._load_manifest(trace, version)
        if trace.model is None and record.get("model"):
            try:
                self._load_model_version(trace, record["model"]["name"], version=str(record["model"]["version"]))
            except LineageError as exc:
                trace.notes.append(str(exc))
                trace.model = {**record["model"], "missing": True}
        if trace.run is not None and trace.record is None and not trace.run.get("missing"):
            trace.notes.append(f"MLflow run {trace.run['run_id']} has no {lineage.LINEAGE_FILE} (it ran before lineage "
                               "was recorded, or did not complete).")
        return trace


@contextlib.contextmanager
def _no_progress_bar() -> Iterator[None]:
    """MLflow draws a download bar on stderr, which would sit among the lines printed (one small file)."""
    previous = os.environ.get(_PROGRESS_BAR_VARIABLE)
    os.environ[_PROGRESS_BAR_VARIABLE] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_PROGRESS_BAR_VARIABLE, None)
        else:
            os.environ[_PROGRESS_BAR_VARIABLE] = previous


# ---- printing ---------------------------------------------------------------------------------

def render(trace: Trace) -> list[str]:
    """The chain as lines: one link a line (datasets and data one a line, indented)."""
    lines = [f"Lineage of {trace.subject}"]

    def row(label: str, text: str) -> None:
        lines.append(f"  {label:<{_LABEL_WIDTH}}{text}")

    record = trace.record or {}
    if trace.endpoint is not None:
        endpoint = trace.endpoint
        row("endpoint", f"{endpoint['name']} ({endpoint.get('status')}), variant {', '.join(endpoint['variants'])}")
        tags = ", ".join(f"{key}={value}" for key, value in endpoint["tags"].items()) or "no ml-on-aws tags"
        row("endpoint config", f"{endpoint['config']}; {tags}")
        model = endpoint.get("model")
        if model:
            served = f"{model['data']}, image {model.get('image')}" if "data" in model else f"not readable: {model['error']}"
            row("SageMaker model", f"{model['name']}: {served}")
        for image in endpoint.get("deployed_images") or []:
            row("deployed image", image)
    if trace.model is not None:
        model = trace.model
        label = f"{model['name']}/{model['version']}"
        if model.get("missing"):
            row("model version", f"{label} (not in the registry at this tracking URI)")
        else:
            aliases = "".join(f" @{alias}" for alias in model["aliases"])
            row("model version", f"{label}{aliases}, registered {model['created']}")
    if trace.run is not None:
        run = trace.run
        if run.get("missing"):
            row("MLflow run", f"{run['run_id']} (not at this tracking URI)")
        else:
            row("MLflow run", f"{run['run_id']} ({run['status']}), experiment {run['experiment']}, started {run['started']}")
    elif record.get("mlflow_run_id"):
        row("MLflow run", f"{record['mlflow_run_id']} (from the lineage record)")
    _render_kedro_run(trace, record, row)
    for name, identity in (record.get("inputs") or {}).items():
        row("data read", f"{name}: {_identity(identity)}")
    code = record.get("code")
    commit = (code or {}).get("commit") or ((trace.run or {}).get("tags") or {}).get("git_commit")
    if commit:
        dirty = (code or {}).get("dirty")
        row("git commit", commit + {True: " (with uncommitted changes)", False: "", None: ""}[dirty])
    if trace.record is not None:
        image = lineage.describe_image(record.get("image"))
        row("image", image if image != lineage.NO_IMAGE else "local (not run in a container image)")
        row("lineage record", trace.record_source or "?")
    lines += [f"  note: {note}" for note in trace.notes]
    return lines


def _render_kedro_run(trace: Trace, record: Mapping[str, Any], row: Callable[[str, str], None]) -> None:
    kedro_run = record.get("kedro_run") or {}
    manifest = trace.manifest
    version = (manifest or {}).get("run") or kedro_run.get("version")
    if not version:
        return
    details = []
    if kedro_run.get("env"):
        details.append(f"env {kedro_run['env']}")
    if manifest and manifest.get("command"):
        details.append(f"`{manifest['command']}`")
    if manifest and manifest.get("committed"):
        details.append(f"committed {manifest['committed']}")
    row("Kedro run", ", ".join([version, *details]))
    if manifest is not None:
        row("run manifest", str(trace.manifest_location))
        datasets = {"read": manifest.get("read") or {}, "saved": manifest.get("saved") or {}}
    else:
        where = kedro_run.get("manifest")
        row("run manifest", f"not in this environment's run store{f' (it was {where})' if where else ''}; "
                            "datasets from the lineage record")
        datasets = record.get("datasets") or {}
    for kind in ("read", "saved"):
        for name, where in sorted((datasets.get(kind) or {}).items()):
            row(f"  {kind}", f"{name}  {where}")


def _identity(identity: Mapping[str, Any]) -> str:
    if identity.get("error"):
        return f"{identity.get('location')} (identity not recorded: {identity['error']})"
    return lineage.describe_identity(identity)


def _time(milliseconds: int | None) -> str | None:
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).isoformat(timespec="seconds")


def as_json(trace: Trace) -> str:
    """The trace as JSON (``kedro lineage --json``), for scripts."""
    found = {key: value for key, value in vars(trace).items()}
    if found.get("run"):
        found["run"] = {key: value for key, value in found["run"].items() if key != "tags"}
    return json.dumps(found, indent=2, default=str)
