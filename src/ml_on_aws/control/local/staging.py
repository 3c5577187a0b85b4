"""Each instance's ``/opt/ml`` on the host, laid out as SageMaker lays it out for a training or
processing job: the configuration files SageMaker writes, the input data, empty output folders,
and the mounts, environment and command of the instance's container (:class:`Instance`)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ml_on_aws.control.local.transfer import download

CONTAINER_ML = PurePosixPath("/opt/ml")


def hosts(count: int) -> list[str]:
    return [f"algo-{i + 1}" for i in range(count)]


def resource_config(current_host: str, all_hosts: list[str], instance_type: str) -> dict[str, Any]:
    """``resourceconfig.json`` as SageMaker writes it for each instance."""
    return {
        "current_host": current_host,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": all_hosts,
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": all_hosts}
        ],
        "network_interface_name": "eth0",
    }


def input_data_config(request: dict[str, Any]) -> dict[str, Any]:
    """``inputdataconfig.json`` of a training request."""
    return {
        channel["ChannelName"]: {
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": channel["DataSource"]["S3DataSource"]["S3DataDistributionType"],
            "RecordWrapperType": "None",
            **({"ContentType": channel["ContentType"]} if channel.get("ContentType") else {}),
        }
        for channel in request["InputDataConfig"]
    }


@dataclass
class Instance:
    """One container of a job: its host name, host folder, mounts and command."""

    host: str
    container: str
    folder: Path
    mounts: dict[Path, PurePosixPath]
    environment: dict[str, str]
    arguments: list[str]
    entrypoint: str | None = None


def stage_training(s3: Any, request: dict[str, Any], root: Path, environment: dict[str, str]) -> list[Instance]:
    """Each instance's ``/opt/ml`` under ``root/<host>``: config files, channel data,
    empty model and output folders. ``environment`` is what SageMaker adds to the request's."""
    name = request["TrainingJobName"]
    resources = request["ResourceConfig"]
    all_hosts = hosts(resources["InstanceCount"])
    instances = []
    for index, host in enumerate(all_hosts):
        ml = root / host
        config = ml / "input" / "config"
        write_json(config / "hyperparameters.json", request.get("HyperParameters", {}))
        write_json(config / "inputdataconfig.json", input_data_config(request))
        write_json(config / "resourceconfig.json", resource_config(host, all_hosts, resources["InstanceType"]))
        for channel in request["InputDataConfig"]:
            source = channel["DataSource"]["S3DataSource"]
            download(s3, source["S3Uri"], source["S3DataDistributionType"], index, len(all_hosts),
                     ml / "input" / "data" / channel["ChannelName"])
        for folder in ("model", "output/data", "checkpoints"):
            writable(ml / folder)
        instances.append(Instance(
            host=host,
            container=f"{name}-{host}",
            folder=ml,
            mounts={ml / part: CONTAINER_ML / part for part in ("input", "model", "output", "checkpoints")},
            environment={**request.get("Environment", {}), **environment, "TRAINING_JOB_NAME": name},
            arguments=["train"],
        ))
    return instances


def stage_processing(s3: Any, request: dict[str, Any], root: Path, environment: dict[str, str]) -> list[Instance]:
    """Each instance's folders under ``root/<host>``: ``config`` (``/opt/ml/config``),
    ``inputs/<n>`` and ``outputs/<n>`` (mounted at their ``LocalPath``), ``output``.
    ``environment`` is what SageMaker adds to the request's."""
    all_hosts = hosts(request["ProcessingResources"]["ClusterConfig"]["InstanceCount"])
    app = request["AppSpecification"]
    entrypoint = list(app.get("ContainerEntrypoint") or [])
    instances = []
    for index, host in enumerate(all_hosts):
        base = root / host
        write_json(base / "config" / "processingjobconfig.json", processing_job_config(request))
        write_json(base / "config" / "resourceconfig.json", {"current_host": host, "hosts": all_hosts})
        mounts = {base / "config": CONTAINER_ML / "config", writable(base / "output"): CONTAINER_ML / "output"}
        for number, item in enumerate(request.get("ProcessingInputs", [])):
            source = item["S3Input"]
            local = base / "inputs" / str(number)
            download(s3, source["S3Uri"], source["S3DataDistributionType"], index, len(all_hosts), local)
            mounts[local] = PurePosixPath(source["LocalPath"])
        for number, item in enumerate(request.get("ProcessingOutputConfig", {}).get("Outputs", [])):
            mounts[writable(base / "outputs" / str(number))] = PurePosixPath(item["S3Output"]["LocalPath"])
        instances.append(Instance(
            host=host,
            container=f"{request['ProcessingJobName']}-{host}",
            folder=base,
            mounts=mounts,
            environment={**request.get("Environment", {}), **environment},
            arguments=[*entrypoint[1:], *app.get("ContainerArguments", [])],
            entrypoint=entrypoint[0] if entrypoint else None,
        ))
    return instances


def processing_job_config(request: dict[str, Any]) -> dict[str, Any]:
    """``processingjobconfig.json``: the request's fields SageMaker writes there."""
    keys = ("ProcessingJobName", "ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources",
            "AppSpecification", "Environment", "NetworkConfig", "RoleArn", "StoppingCondition")
    return {key: request[key] for key in keys if key in request}


def job_folder(name: str, workdir: Path | None) -> Any:
    """The job's folder on the host, as a context manager: ``workdir/<name>``, kept for
    inspection, or a temporary folder."""
    if workdir is not None:
        folder = workdir / name
        folder.mkdir(parents=True)
        return _Keep(folder)
    # Containers may leave files this user cannot delete; they stay in the temp folder.
    return _Scratch(tempfile.TemporaryDirectory(prefix=f"{name}-", ignore_cleanup_errors=True))


class _Scratch:
    """A temporary job folder that other users (the container's) can traverse."""

    def __init__(self, folder: tempfile.TemporaryDirectory) -> None:
        self.folder = folder

    def __enter__(self) -> Path:
        path = Path(self.folder.__enter__())
        path.chmod(0o755)
        return path

    def __exit__(self, *exc: object) -> None:
        self.folder.__exit__(*exc)


class _Keep:
    """A job folder that is kept for inspection (``workdir`` given)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> Path:
        return self.folder

    def __exit__(self, *exc: object) -> None:
        return None



def write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, default=str))


def writable(folder: Path) -> Path:
    """The container may run as another user than this process: let it write there."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)
    return folder
