"""Lineage on AWS, against moto's server: jobs are told their image, `deploy` tags the SageMaker
model and endpoint config with the model version and MLflow run its model.tar.gz records, and
`kedro lineage --endpoint` follows those tags back to the run (tests/lineage_run.py made it)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import mlflow
import pytest
from click.testing import CliRunner

from ml_on_aws.control import launcher, lineage_cli
from ml_on_aws.control.image import record_push
from ml_on_aws.control.lineage import Tracer, render
from ml_on_aws.core import lineage
from ml_on_aws.core.lineage import LineageError
from ml_on_aws.datasets.runs import RunStore
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import load
from ml_on_aws.sagemaker.models import model_lineage

from ..lineage_run import COMMIT, DIGEST, IMAGE, MODEL_NAME, committed_run
from .conftest import BUCKET, IMAGE_URI, REGION

MODEL_KEY = "project/sagemaker/training/ml-on-aws-train-1/output/model.tar.gz"
ENDPOINT = "ml-on-aws"  # endpoint.name of conf/aws/sagemaker.yml


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with committed_run(tmp_path_factory.mktemp("lineage")) as found:
        yield found


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def model_archive(folder: Path, prefix: str = "") -> bytes:
    """``folder`` packed as SageMaker packs /opt/ml/model (its files at the archive's root)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=prefix + path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def kedro_sagemaker(project, *args: str):
    from ml_on_aws.control.sagemaker_cli import sagemaker

    return CliRunner().invoke(sagemaker, list(args), obj=SimpleNamespace(project_path=project))


def tags_of(sagemaker, arn: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn)["Tags"]}


# ---- requests and the model archive ------------------------------------------------------------

def test_lineage_tags_name_the_model_version_and_run_of_a_record(run):
    record = lineage.read_record(run.model_dir)
    assert rq.lineage_tags(record) == [{"Key": rq.TAG_MODEL_VERSION, "Value": f"{MODEL_NAME}/1"},
                                       {"Key": rq.TAG_MLFLOW_RUN_ID, "Value": run.mlflow_run_id}]
    assert rq.lineage_tags({**record, "model": None}) == [{"Key": rq.TAG_MLFLOW_RUN_ID, "Value": run.mlflow_run_id}]
    assert rq.lineage_tags(None) == []


def test_extra_tags_join_the_projects_and_win_over_a_configured_key(aws):
    config = load(Path(__file__).parents[2], "aws").model_copy(update={"tags": {rq.TAG_MODEL_VERSION: "configured"}})
    extra = [{"Key": rq.TAG_MODEL_VERSION, "Value": "m/2"}, {"Key": rq.TAG_MLFLOW_RUN_ID, "Value": "r"}]
    requests = {
        "endpoint": rq.endpoint_config_request(config, config_name="c", model_name="m", commit="abc", extra_tags=extra),
        "model": rq.model_request(config, model_name="m", image_uri=IMAGE_URI, model_data_url="s3://b/m.tar.gz",
                                  commit="abc", extra_tags=extra),
    }
    for job, request in requests.items():
        tags = {tag["Key"]: tag["Value"] for tag in request["Tags"]}
        assert tags == {rq.TAG_MODEL_VERSION: "m/2", rq.TAG_MLFLOW_RUN_ID: "r", rq.TAG_COMMIT: "abc", rq.TAG_JOB: job}


def test_jobs_are_told_their_image_and_its_digest(aws):
    config = load(Path(__file__).parents[2], "aws")
    pinned = f"{IMAGE_URI.rsplit(':', 1)[0]}@{DIGEST}"
    training = rq.training_job_request(config, image_uri=IMAGE_URI, job_name="t", commit="c", image_digest=DIGEST)
    processing = rq.processing_job_request(config, "inference", image_uri=pinned, job_name="p", commit="c",
                                           model_data_url="s3://b/m.tar.gz")
    assert {key: training["Environment"][key] for key in (lineage.IMAGE_VARIABLE, lineage.IMAGE_DIGEST_VARIABLE)} == {
        lineage.IMAGE_VARIABLE: IMAGE_URI, lineage.IMAGE_DIGEST_VARIABLE: DIGEST}
    assert processing["Environment"][lineage.IMAGE_DIGEST_VARIABLE] == DIGEST  # the digest the URI pins
    unknown = rq.training_job_request(config, image_uri=IMAGE_URI, job_name="t", commit="c")
    assert lineage.IMAGE_DIGEST_VARIABLE not in unknown["Environment"]
    # What the container then records.
    assert lineage.running_image(training["Environment"]) == {"uri": IMAGE_URI, "digest": DIGEST}
    assert lineage.running_image({}) == {"uri": None, "digest": None}


def test_the_launcher_passes_the_digest_push_image_recorded(project, aws):
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x", "--allow-empty"],
                   cwd=project, check=True)
    config = load(project, "aws").model_copy(update={"image": load(project, "aws").image.model_copy(update={"uri": None})})
    commit = launcher.git_commit(project)
    record_push(project, commit, IMAGE_URI, DIGEST)
    session = boto3.Session(region_name=REGION)
    sent: list[dict] = []
    session.events.register("before-call.sagemaker.CreateTrainingJob",
                            lambda params, **_: sent.append(json.loads(params["body"])))

    assert launcher.Launcher(config, project, lambda line: None, session=session).train(wait=False)

    assert sent[0]["Environment"][lineage.IMAGE_VARIABLE] == IMAGE_URI
    assert sent[0]["Environment"][lineage.IMAGE_DIGEST_VARIABLE] == DIGEST


@pytest.mark.parametrize("prefix", ["", "./"])
def test_the_record_is_read_from_the_model_archive(run, s3, prefix):
    s3.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=model_archive(run.model_dir, prefix))
    assert model_lineage(s3, f"s3://{BUCKET}/{MODEL_KEY}") == lineage.read_record(run.model_dir)


def test_a_model_archive_without_a_record_has_none(run, s3, tmp_path):
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    s3.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=model_archive(tmp_path))
    assert model_lineage(s3, f"s3://{BUCKET}/{MODEL_KEY}") is None


# ---- deploy, then back from the endpoint --------------------------------------------------------

@pytest.fixture
def deployed(run, project, s3):
    s3.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=model_archive(run.model_dir))
    result = kedro_sagemaker(project, "deploy")
    assert result.exit_code == 0, result.output
    assert f"Model lineage: {rq.TAG_MODEL_VERSION}={MODEL_NAME}/1, {rq.TAG_MLFLOW_RUN_ID}={run.mlflow_run_id}" in result.output
    return boto3.client("sagemaker", region_name=REGION)


def test_deploy_tags_the_model_and_the_endpoint_config_with_the_model_version_and_run(run, deployed):
    endpoint = deployed.describe_endpoint(EndpointName=ENDPOINT)
    config = deployed.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = deployed.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    expected = {rq.TAG_MODEL_VERSION: f"{MODEL_NAME}/1", rq.TAG_MLFLOW_RUN_ID: run.mlflow_run_id}
    assert expected.items() <= tags_of(deployed, config["EndpointConfigArn"]).items()
    assert expected.items() <= tags_of(deployed, model["ModelArn"]).items()


def test_deploying_a_model_without_a_record_says_so_and_adds_no_lineage_tags(project, s3, tmp_path):
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    s3.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=model_archive(tmp_path))
    result = kedro_sagemaker(project, "deploy")
    assert result.exit_code == 0, result.output
    assert "has no lineage record (lineage.json; trained before lineage was recorded)" in result.output
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"])
    assert rq.TAG_MODEL_VERSION not in tags_of(sagemaker, config["EndpointConfigArn"])


def _row(lines: list[str], label: str) -> str:
    return next(line.strip()[len(label):].strip() for line in lines if line.strip().startswith(label + " "))


def test_lineage_of_an_endpoint_follows_its_tags_to_the_run(run, deployed):
    tracer = Tracer(mlflow.MlflowClient(tracking_uri=run.tracking_uri), RunStore(str(run.runs_root)),
                    tracking_uri=run.tracking_uri)
    lines = render(tracer.from_endpoint(ENDPOINT))
    assert lines[0] == f"Lineage of endpoint {ENDPOINT}"
    assert _row(lines, "endpoint") == f"{ENDPOINT} (InService), variant AllTraffic"
    assert _row(lines, "endpoint config").endswith(
        f"{rq.TAG_MODEL_VERSION}={MODEL_NAME}/1, {rq.TAG_MLFLOW_RUN_ID}={run.mlflow_run_id}")
    assert _row(lines, "SageMaker model").endswith(f": s3://{BUCKET}/{MODEL_KEY}, image {IMAGE_URI}")
    assert _row(lines, "model version").startswith(f"{MODEL_NAME}/1 @champion")
    assert _row(lines, "MLflow run").startswith(f"{run.mlflow_run_id} (FINISHED)")
    assert _row(lines, "Kedro run").startswith(run.version)
    assert _row(lines, "read") == f"raw_data  {run.raw_file}"
    assert _row(lines, "git commit") == COMMIT and _row(lines, "image") == f"{IMAGE} ({DIGEST})"


def test_an_endpoint_whose_run_this_tracking_server_does_not_know_is_traced_from_its_model(run, deployed, tmp_path):
    # A training job's MLflow store was the job's own: the registry here has never seen the model.
    elsewhere = f"sqlite:///{tmp_path / 'other.db'}"
    tracer = Tracer(mlflow.MlflowClient(tracking_uri=elsewhere), None, tracking_uri=elsewhere)
    found = tracer.from_endpoint(ENDPOINT)
    lines = render(found)
    assert _row(lines, "model version") == f"{MODEL_NAME}/1 (not in the registry at this tracking URI)"
    assert _row(lines, "MLflow run") == f"{run.mlflow_run_id} (not at this tracking URI)"
    assert _row(lines, "lineage record") == f"s3://{BUCKET}/{MODEL_KEY} (lineage.json)"
    assert "datasets from the lineage record" in _row(lines, "run manifest")
    assert _row(lines, "data read").startswith(f"raw_data: {run.raw_file.resolve()}, sha256 ")
    assert _row(lines, "git commit") == COMMIT
    assert any(f"No model version {MODEL_NAME}/1 in the registry at {elsewhere}" in note for note in found.notes)


def test_an_unknown_endpoint_is_one_line_naming_it(aws, run, monkeypatch):
    tracer = Tracer(mlflow.MlflowClient(tracking_uri=run.tracking_uri), None, tracking_uri=run.tracking_uri)
    with pytest.raises(LineageError, match=rf"^No SageMaker endpoint named 'nowhere' \(region {REGION}, http://127\.0\.0\.1:\d+\)\.$"):
        tracer.from_endpoint("nowhere")
    monkeypatch.setattr(lineage_cli, "_tracer", lambda project_path, env, region: tracer)
    result = CliRunner().invoke(lineage_cli.lineage, ["--endpoint", "nowhere"], obj=SimpleNamespace(project_path=run.root))
    assert result.exit_code == 1 and result.output.startswith("Error: No SageMaker endpoint named 'nowhere'")


def test_the_lambda_passes_the_digest_its_environment_names(aws, monkeypatch):
    from ml_on_aws.lambda_runtime import handlers

    config = load(Path(__file__).parents[2], "aws")
    new = handlers.NewObject(bucket=BUCKET, key="project/01_raw/new_data/part.csv", version="v1")
    monkeypatch.delenv(handlers.IMAGE_DIGEST_VARIABLE, raising=False)
    _, request = handlers.arrival_request(config, handlers.ArrivalSettings(job="training"), new, image=IMAGE_URI, s3=None)
    assert request["Environment"][lineage.IMAGE_VARIABLE] == IMAGE_URI
    assert lineage.IMAGE_DIGEST_VARIABLE not in request["Environment"]
    monkeypatch.setenv(handlers.IMAGE_DIGEST_VARIABLE, DIGEST)
    _, request = handlers.arrival_request(config, handlers.ArrivalSettings(job="training"), new, image=IMAGE_URI, s3=None)
    assert request["Environment"][lineage.IMAGE_DIGEST_VARIABLE] == DIGEST
