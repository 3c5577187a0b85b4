"""`--local` with Docker: the runner's side of SageMaker's container contract.

The image is tests/sagemaker/contract_image (a few lines that follow the contract), so these
tests check the runner itself in seconds: sharding across containers, failure reasons,
uploads, serving and batch transform. test_local.py runs the project's own image.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import tarfile
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
import yaml
from click.testing import CliRunner

from ml_on_aws.control.sagemaker_cli import sagemaker as sagemaker_cli
from tests.support.docker_engine import docker_build, ensure_base_image, ensure_docker

from .conftest import BUCKET, REGION

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CONTRACT_IMAGE = "ml-on-aws-contract:test"
PARTS = 7


@pytest.fixture(scope="session")
def docker_env() -> dict[str, str]:
    env = ensure_docker()
    ensure_base_image()
    docker_build(Path(__file__).parent / "contract_image", CONTRACT_IMAGE, env)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def local_project(project, aws, docker_env, monkeypatch):
    """The project with conf/aws/sagemaker.yml running the contract image locally."""
    for key, value in docker_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ML_ON_AWS_IMAGE_URI", CONTRACT_IMAGE)
    path = project / "conf" / "aws" / "sagemaker.yml"
    conf = yaml.safe_load(path.read_text())
    conf["local"] = {"docker_options": ["--network=host"], "port": free_port()}
    conf["processing"]["entrypoint"] = ["python3", "/usr/local/bin/contract.py", "process"]
    inference = conf["processing"]["pipelines"]["inference"]
    inference["instance_count"] = 3
    inference["inputs"]["new_data"]["s3_uri"] = "${_root}/01_raw/new_data/"
    conf["processing"]["pipelines"]["broken"] = {**inference, "instance_count": 2}
    conf["transform"]["input_s3_uri"] = "${_root}/01_raw/new_data/"
    path.write_text(yaml.safe_dump(conf))
    return project


@pytest.fixture
def s3(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="project/01_raw/credit_data.csv", Body=b"a,b,target\n1,2,x\n3,4,y\n5,6,x\n")
    for part in range(PARTS):
        rows = "".join(f"{part},{row}\n" for row in range(part + 2))
        s3.put_object(Bucket=BUCKET, Key=f"project/01_raw/new_data/part-{part}.csv", Body=f"part,row\n{rows}".encode())
    return s3


def kedro_sagemaker(project, *args):
    return CliRunner().invoke(sagemaker_cli, list(args), obj=SimpleNamespace(project_path=project))


def keys(s3, prefix: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_train_local_uploads_the_model_and_reports_metrics(local_project, s3):
    result = kedro_sagemaker(local_project, "train", "--local")

    assert result.exit_code == 0, result.output
    artifact, output = keys(s3, "project/sagemaker/training/")
    assert artifact.endswith("/output/model.tar.gz") and output == artifact.replace("model.tar.gz", "output.tar.gz")
    archive = tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=BUCKET, Key=artifact)["Body"].read()))
    model = json.load(archive.extractfile("model.json"))
    assert model["rows"] == 3 and model["host"] == "algo-1"
    # /opt/ml/output/data, as SageMaker uploads it next to the model.
    archive = tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=BUCKET, Key=output)["Body"].read()))
    assert json.load(archive.extractfile("report-algo-1.json")) == {"rows": 3}
    assert "metric test_roc_auc = 0.75" in result.output
    assert "[algo-1] train_rows=3" in result.output
    assert f"model: s3://{BUCKET}/{artifact}" in result.output


def test_a_failing_training_job_reports_its_reason_and_uploads_nothing(local_project, s3):
    path = local_project / "conf" / "aws" / "sagemaker.yml"
    conf = yaml.safe_load(path.read_text())
    conf["training"]["hyperparameters"] = {"fail": True}
    path.write_text(yaml.safe_dump(conf))

    result = kedro_sagemaker(local_project, "train", "--local")

    assert result.exit_code == 1
    assert ": Failed" in result.output
    assert "FailureReason: AlgorithmError: The train channel has no target column, exit code: 2 (algo-1)" in result.output
    assert keys(s3, "project/sagemaker/training/") == []


def _upload_model(s3) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        content = b'{"rows": 3}'
        info = tarfile.TarInfo("model.json")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    s3.put_object(Bucket=BUCKET, Key="project/sagemaker/training/job-1/output/model.tar.gz", Body=buffer.getvalue())


def test_sharded_processing_on_three_containers_scores_every_row_once(local_project, s3):
    _upload_model(s3)

    result = kedro_sagemaker(local_project, "process", "inference", "--local")

    assert result.exit_code == 0, result.output
    outputs = keys(s3, "project/sagemaker/predictions/")
    hosts = {key.rsplit("/", 1)[1].split("-part-")[0] for key in outputs}
    assert hosts == {"algo-1", "algo-2", "algo-3"}  # per-instance keys, all instances busy
    scored = []
    for key in outputs:
        lines = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
        assert lines[0] == "part,row,prediction"
        scored += [tuple(line.split(",")[:2]) for line in lines[1:]]
    expected = [(str(part), str(row)) for part in range(PARTS) for row in range(part + 2)]
    assert sorted(scored) == sorted(expected)


def test_a_failing_processing_job_reports_the_exit_message_and_uploads_nothing(local_project, s3):
    _upload_model(s3)

    result = kedro_sagemaker(local_project, "process", "broken", "--local")

    assert result.exit_code == 1
    assert "FailureReason: AlgorithmError: pipeline broken failed on algo-1, exit code: 2" in result.output
    assert keys(s3, "project/sagemaker/predictions/") == []


def test_deploy_local_serves_the_model_and_transform_local_scores_every_file(local_project, s3):
    _upload_model(s3)
    port = yaml.safe_load((local_project / "conf" / "aws" / "sagemaker.yml").read_text())["local"]["port"]

    result = kedro_sagemaker(local_project, "deploy", "--local", "--wait")
    try:
        assert result.exit_code == 0, result.output
        assert ": InService" in result.output
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=b"1,2,3\n4,5\n",
                                         headers={"Content-Type": "text/csv"})
        with urllib.request.urlopen(request) as response:
            assert response.read() == b"3\n2"
    finally:
        container = result.output.split("stop it with `docker rm -f ")[1].split("`")[0]
        subprocess.run(["docker", "rm", "--force", container], capture_output=True)

    result = kedro_sagemaker(local_project, "transform", "--local")

    assert result.exit_code == 0, result.output
    outputs = keys(s3, "project/sagemaker/transform/")
    assert outputs == sorted(f"project/sagemaker/transform/part-{part}.csv.out" for part in range(PARTS))
    last = s3.get_object(Bucket=BUCKET, Key=outputs[-1])["Body"].read().decode().splitlines()
    assert last == ["2"] * (1 + PARTS + 1)  # header and rows of part 6, one answer per record
