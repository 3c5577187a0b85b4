"""The documented flow with the project's own image, S3 on moto and a local OCI registry:

    kedro data upload --pipeline data_validation
    kedro sagemaker push-image --registry 127.0.0.1:5000
    kedro sagemaker train --local
    kedro sagemaker deploy --local --wait        (then POST /invocations)
    kedro sagemaker process inference --local    (3 instances, sharded input)

Each command runs as a user runs it (`kedro ...` in a copy of the project); moto's server is
this module's own, so other tests' resets do not touch it.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import urllib.request

import boto3
import pandas as pd
import pytest
import yaml

from tests.conftest import copy_project, moto_server, run_kedro
from tests.support.docker_engine import ensure_base_image, ensure_docker, ensure_registry

from .conftest import BUCKET, REGION, ROLE_ARN, ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PARTS = 6
TRAINING_PREFIX = "project/sagemaker/training/"
# Small enough to train in a minute on two cores; the job still runs every stage.
FAST = {"training.search.n_iter": 2, "training.search.cv": 2, "evaluation.learning_curve_cv": 2}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto():
    """A moto server of this module's own: the jobs' buckets and images start empty."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def flow(tmp_path_factory, moto):
    """A project copy in git, its data uploaded to moto's S3 and its image pushed."""
    docker_env = ensure_docker()
    ensure_base_image()
    registry = ensure_registry()
    project = copy_project(tmp_path_factory.mktemp("flow") / "project")
    env = {
        **docker_env,
        "DOCKER_CONFIG": str(tmp_path_factory.mktemp("docker-config")),
        "AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "ML_ON_AWS_BUCKET": BUCKET, "ML_ON_AWS_PREFIX": "project", "ML_ON_AWS_SAGEMAKER_ROLE_ARN": ROLE_ARN,
    }
    port = _free_port()
    conf_path = project / "conf" / "aws" / "sagemaker.yml"
    conf = yaml.safe_load(conf_path.read_text())
    # Build this checkout's image; this engine has no bridge network, so containers share the host's.
    conf["image"] = {"context": str(ROOT), "dockerfile": str(ROOT / "Dockerfile"), "build_options": ["--network=host"]}
    conf["local"] = {"docker_options": ["--network=host"], "port": port}
    conf["training"]["hyperparameters"] = FAST
    inference = conf["processing"]["pipelines"]["inference"]
    inference["instance_count"] = 3
    inference["inputs"]["new_data"]["s3_uri"] = "${_root}/01_raw/new_data/"
    conf_path.write_text(yaml.safe_dump(conf))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "project"]):
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=project, check=True)

    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    _check(run_kedro(project, "data", "upload", "--env", "aws", "--pipeline", "data_validation", env=env))
    new_data = pd.read_csv(project / "data" / "01_raw" / "credit_data_new.csv")
    for part, rows in enumerate(_split(new_data, PARTS)):
        s3.put_object(Bucket=BUCKET, Key=f"project/01_raw/new_data/part-{part}.csv", Body=rows.to_csv(index=False).encode())
    pushed = _check(run_kedro(project, "sagemaker", "push-image", "--registry", registry, env=env, timeout=1800))
    assert pushed.stdout.strip().splitlines()[-1].startswith(f"{registry}/ml-on-aws:")
    return project, env, s3, new_data, port


def _split(frame: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    size = -(-len(frame) // parts)
    return [frame.iloc[i * size:(i + 1) * size] for i in range(parts)]


def _check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def _models(s3) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=TRAINING_PREFIX).get("Contents", [])
    return sorted(item["Key"] for item in listed if item["Key"].endswith("/output/model.tar.gz"))


def test_train_local_produces_a_model_that_deploy_local_serves(flow):
    project, env, s3, new_data, port = flow

    trained = _check(run_kedro(project, "sagemaker", "train", "--local", env=env))

    [model] = _models(s3)
    assert f"model: s3://{BUCKET}/{model}" in trained.stdout
    assert "metric test_roc_auc = 0." in trained.stdout  # read from the container's log lines

    deployed = run_kedro(project, "sagemaker", "deploy", "--local", "--wait", env=env)
    container = deployed.stdout.split("stop it with `docker rm -f ")[-1].split("`")[0]
    try:
        _check(deployed)
        rows = new_data.head(25).to_csv(index=False).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=rows,
                                         headers={"Content-Type": "text/csv", "Accept": "text/csv"})
        with urllib.request.urlopen(request, timeout=60) as response:
            predictions = pd.read_csv(io.BytesIO(response.read()))
        assert len(predictions) == 25
        assert set(predictions["prediction"]) <= {"good", "bad"}
    finally:
        subprocess.run(["docker", "rm", "--force", container], capture_output=True, env={**os.environ, **env})


def test_process_inference_on_three_instances_scores_every_row_once(flow):
    project, env, s3, new_data, _ = flow
    if not _models(s3):
        _check(run_kedro(project, "sagemaker", "train", "--local", env=env))

    _check(run_kedro(project, "sagemaker", "process", "inference", "--local", env=env))

    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="project/sagemaker/predictions/")["Contents"]
    outputs = [pd.read_csv(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()))
               for item in listed]
    assert len(outputs) >= 3  # one file per instance at least: nothing overwritten
    scored = pd.concat(outputs, ignore_index=True)
    columns = list(new_data.columns)
    key = lambda frame: sorted(map(tuple, frame[columns].astype(str).to_numpy()))  # noqa: E731
    assert key(scored) == key(new_data)  # every row once, none lost, none twice
    assert scored["prediction"].notna().all()


def test_a_failing_training_job_reports_why_and_uploads_no_model(flow):
    project, env, s3, new_data, _ = flow
    before = _models(s3)
    s3.put_object(Bucket=BUCKET, Key="project/01_raw/broken/credit_data.csv",
                  Body=new_data.to_csv(index=False).encode())  # no target column
    conf_path = project / "conf" / "aws" / "sagemaker.yml"
    original = conf_path.read_text()
    conf = yaml.safe_load(original)
    conf["training"]["channels"]["train"]["s3_uri"] = "${_root}/01_raw/broken/credit_data.csv"
    conf_path.write_text(yaml.safe_dump(conf))
    # The edit makes the tree "dirty", and the launcher only takes the pushed image for the commit
    # it was built from, so name the image explicitly, as the docs say.
    pushed = json.loads((project / ".sagemaker" / "pushed-image.json").read_text())["uri"]
    try:
        result = run_kedro(project, "sagemaker", "train", "--local", env={**env, "ML_ON_AWS_IMAGE_URI": pushed})
    finally:
        conf_path.write_text(original)

    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert ": Failed" in result.stdout
    assert "FailureReason: AlgorithmError: " in result.stdout
    assert "Status" in result.stdout.split("FailureReason: ")[1]  # the reason names the missing target
    assert _models(s3) == before
