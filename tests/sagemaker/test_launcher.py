"""`kedro sagemaker train|process|deploy` against moto's server, and the checks made before any call.

moto validates nothing about containers and reports every job Completed at once: these tests
check what the launcher sends and how it reports, not a run (tests/sagemaker/test_local.py
runs the containers).
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
from types import SimpleNamespace

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from click.testing import CliRunner

from ml_on_aws.control import launcher
from ml_on_aws.control.image import record_push
from ml_on_aws.control.launcher import TRAINING, LogTail, follow, outcome
from ml_on_aws.control.sagemaker_cli import sagemaker as sagemaker_cli
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import load

from ..conftest import run_kedro
from .conftest import BUCKET, IMAGE_URI, REGION, ROLE_ARN, record_calls, sent

TRAINING_OUTPUT = f"s3://{BUCKET}/project/sagemaker/training"


def kedro_sagemaker(project, *args: str):
    """``kedro sagemaker ARGS`` in ``project``, in this process (the boto3 clients use moto)."""
    return CliRunner().invoke(sagemaker_cli, list(args), obj=SimpleNamespace(project_path=project))


@pytest.fixture
def client(aws):
    return boto3.client("sagemaker", region_name=REGION)


@pytest.fixture
def bucket(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3


def _model_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("MLmodel")
        tar.addfile(info, io.BytesIO(b""))
    return buffer.getvalue()


def test_train_submits_the_configured_job_and_reports_how_it_ended(project, client):
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x", "--allow-empty"],
                   cwd=project, check=True)
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=project, capture_output=True,
                            text=True, check=True).stdout.strip()

    result = kedro_sagemaker(project, "train", "--wait")

    assert result.exit_code == 0, result.output
    [summary] = client.list_training_jobs()["TrainingJobSummaries"]
    name = summary["TrainingJobName"]
    assert name.startswith(f"ml-on-aws-train-{commit[:7]}-")
    job = client.describe_training_job(TrainingJobName=name)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE_URI
    assert job["RoleArn"] == ROLE_ARN
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train"]
    assert f"Submitted training job {name}" in result.output
    assert f"training job {name}: Completed" in result.output


def test_train_adds_the_test_and_reference_channels_given_as_options(project, client):
    test_uri, reference_uri = f"s3://{BUCKET}/held-out/", f"s3://{BUCKET}/production/reference_data.parquet"

    result = kedro_sagemaker(project, "train", "--test", test_uri, "--reference", reference_uri)

    assert result.exit_code == 0, result.output
    [summary] = client.list_training_jobs()["TrainingJobSummaries"]
    job = client.describe_training_job(TrainingJobName=summary["TrainingJobName"])
    sources = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert sources == {"train": f"s3://{BUCKET}/project/01_raw/credit_data.csv", "test": test_uri,
                       "reference": reference_uri}


def test_without_wait_the_command_returns_after_submitting(project, client):
    result = kedro_sagemaker(project, "train")
    assert result.exit_code == 0, result.output
    assert "not waiting; add --wait" in result.output


def test_process_runs_the_pipeline_on_the_newest_trained_model(project, client, bucket):
    for job in ("ml-on-aws-train-old", "ml-on-aws-train-new"):
        bucket.put_object(Bucket=BUCKET, Key=f"project/sagemaker/training/{job}/output/model.tar.gz", Body=_model_archive())

    result = kedro_sagemaker(project, "process", "inference", "--wait")

    assert result.exit_code == 0, result.output
    [summary] = client.list_processing_jobs()["ProcessingJobSummaries"]
    job = client.describe_processing_job(ProcessingJobName=summary["ProcessingJobName"])
    assert job["AppSpecification"]["ContainerArguments"] == ["inference"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}
    assert inputs["model"] == f"{TRAINING_OUTPUT}/ml-on-aws-train-new/output/model.tar.gz"
    assert "output predictions: s3://" in result.output


def test_process_without_a_trained_model_says_to_train_first(project, client, bucket):
    result = kedro_sagemaker(project, "process", "inference")
    assert result.exit_code != 0
    assert "no trained model.tar.gz under training.output_s3_uri" in result.output
    assert client.list_processing_jobs()["ProcessingJobSummaries"] == []


def test_deploy_creates_model_endpoint_config_and_endpoint(project, client, bucket):
    key = "project/sagemaker/training/ml-on-aws-train-1/output/model.tar.gz"
    bucket.put_object(Bucket=BUCKET, Key=key, Body=_model_archive())

    result = kedro_sagemaker(project, "deploy", "--wait")

    assert result.exit_code == 0, result.output
    endpoint = client.describe_endpoint(EndpointName="ml-on-aws")
    assert endpoint["EndpointStatus"] == "InService"
    [variant] = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])["ProductionVariants"]
    model = client.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"] == {"Image": IMAGE_URI, "ModelDataUrl": f"s3://{BUCKET}/{key}",
                                         "Environment": {"AWS_DEFAULT_REGION": REGION, **load(project, "aws").environment}}
    assert "endpoint ml-on-aws: InService" in result.output


def _sent(request_dict) -> dict:
    """The API parameters of a serialized SageMaker request, as a before-call hook sees it."""
    return json.loads(request_dict["body"])


def test_deploy_retries_while_the_new_endpoint_config_is_not_yet_visible(project, client, bucket, monkeypatch):
    # AWS documents that CreateEndpoint right after CreateEndpointConfig can fail with a
    # ValidationException (eventual consistency). moto is consistent, so the first two
    # CreateEndpoint calls to it are answered with that error by a botocore before-call hook.
    bucket.put_object(Bucket=BUCKET, Key="project/sagemaker/training/ml-on-aws-train-1/output/model.tar.gz",
                      Body=_model_archive())
    monkeypatch.setattr(launcher, "CONFIG_RETRY_SECONDS", (0, 0, 0))
    session = boto3.Session(region_name=REGION)
    refused: list[str] = []

    def not_yet_visible(params, **_):
        if len(refused) < 2:
            refused.append(_sent(params)["EndpointConfigName"])
            message = f"Could not find endpoint configuration \"{refused[-1]}\"."
            return AWSResponse("", 400, {}, None), {"Error": {"Code": "ValidationException", "Message": message}}
        return None

    session.events.register("before-call.sagemaker.CreateEndpoint", not_yet_visible)
    printed: list[str] = []

    assert launcher.Launcher(load(project, "aws"), project, printed.append, session=session).deploy(wait=False)

    endpoint = client.describe_endpoint(EndpointName="ml-on-aws")
    assert len(refused) == 2 and endpoint["EndpointConfigName"] == refused[0]
    assert sum("is not visible yet" in line for line in printed) == 2, printed


def test_deploy_gives_up_and_names_the_config_when_it_never_becomes_visible(project, client, bucket, monkeypatch):
    bucket.put_object(Bucket=BUCKET, Key="project/sagemaker/training/ml-on-aws-train-1/output/model.tar.gz",
                      Body=_model_archive())
    monkeypatch.setattr(launcher, "CONFIG_RETRY_SECONDS", (0,))
    session = boto3.Session(region_name=REGION)
    session.events.register(
        "before-call.sagemaker.CreateEndpoint",
        lambda params, **_: (AWSResponse("", 400, {}, None), {"Error": {
            "Code": "ValidationException", "Message": f"Could not find endpoint configuration {_sent(params)['EndpointConfigName']}"}}),
    )

    with pytest.raises(ClientError, match="Could not find endpoint configuration ml-on-aws-endpoint-config"):
        launcher.Launcher(load(project, "aws"), project, lambda line: None, session=session).deploy(wait=False)


def test_follow_prints_status_transitions_and_the_jobs_log_lines(project, client):
    config = load(project, "aws")
    name = "ml-on-aws-train-followed"
    client.create_training_job(**rq.training_job_request(config, image_uri=IMAGE_URI, job_name=name, commit="c"))
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{name}/algo-1-1764320000")
    logs.put_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{name}/algo-1-1764320000",
        # CloudWatch refuses events older than 14 days.
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "test_roc_auc=0.8464"}],
    )
    printed: list[str] = []

    description = follow(client, TRAINING, name, printed.append, logs=logs, poll_seconds=0)

    assert description["TrainingJobStatus"] == "Completed"
    assert f"{name}: Completed" in printed
    assert any(line.startswith(f"{name}: Starting") for line in printed)  # a secondary status
    assert f"[{name}/algo-1-1764320000] test_roc_auc=0.8464" in printed


def _edit(project, old: str, new: str, env: str = "aws") -> None:
    path = project / "conf" / env / "sagemaker.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("breakage", "key"),
    [
        ("missing_role", "role_arn: is required"),
        ("unknown_instance_type", "endpoint.instance_type: 'ml.m5.giant'"),
        ("s3_prefix_in_another_form", "training.output_s3_uri: must be an S3 location of the form s3://bucket/prefix"),
        ("no_image_pushed", "image.uri: not set, and no image of commit"),
    ],
)
def test_bad_configuration_stops_before_any_aws_call(project, tripwire, monkeypatch, breakage, key):
    if breakage == "missing_role":
        monkeypatch.delenv("ML_ON_AWS_SAGEMAKER_ROLE_ARN")
    elif breakage == "unknown_instance_type":
        _edit(project, "instance_type: ml.m5.large", "instance_type: ml.m5.giant", env="base")
    elif breakage == "s3_prefix_in_another_form":
        _edit(project, "output_s3_uri: ${_root}", "output_s3_uri: https://s3.amazonaws.com/${_root}")
    else:
        monkeypatch.delenv("ML_ON_AWS_IMAGE_URI")

    result = kedro_sagemaker(project, "train", "--wait")

    assert result.exit_code != 0
    assert key in result.output
    assert tripwire == []


def test_an_image_pushed_for_another_commit_is_not_used(project, tripwire, monkeypatch):
    monkeypatch.delenv("ML_ON_AWS_IMAGE_URI")
    monkeypatch.setenv("ML_ON_AWS_GIT_COMMIT", "newcommit")
    record_push(project, "oldcommit", IMAGE_URI)

    result = kedro_sagemaker(project, "process", "inference")

    assert result.exit_code != 0
    assert "no image of commit newcommit has been pushed" in result.output
    assert tripwire == []


def test_the_image_pushed_for_this_commit_is_used(project, client, monkeypatch):
    monkeypatch.delenv("ML_ON_AWS_IMAGE_URI")
    monkeypatch.setenv("ML_ON_AWS_GIT_COMMIT", "thiscommit")
    pushed = "127.0.0.1:5000/ml-on-aws:thiscommit"
    record_push(project, "thiscommit", pushed)

    assert kedro_sagemaker(project, "train").exit_code == 0
    [summary] = client.list_training_jobs()["TrainingJobSummaries"]
    job = client.describe_training_job(TrainingJobName=summary["TrainingJobName"])
    assert job["AlgorithmSpecification"]["TrainingImage"] == pushed


def test_the_tripwire_sees_a_launch_that_passes_the_checks(project, tripwire):
    """The guard of the tests above: a valid launch does reach the endpoint."""
    result = kedro_sagemaker(project, "train")
    assert result.exit_code != 0
    assert any("CreateTrainingJob" in request for request in tripwire)


def test_kedro_cli_runs_the_sagemaker_commands(project, client):
    result = run_kedro(project, "sagemaker", "train", "--wait", "--env", "aws")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training job ml-on-aws-train-" in result.stdout
    assert len(client.list_training_jobs()["TrainingJobSummaries"]) == 1


def test_a_failed_job_ends_with_its_failure_reason_and_is_not_a_success():
    succeeded, lines = outcome(TRAINING, {
        "TrainingJobName": "j", "TrainingJobStatus": "Failed",
        "FailureReason": "AlgorithmError: The train channel has no target column",
        "FinalMetricDataList": [{"MetricName": "train_rows", "Value": 3.0}],
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/j/output/model.tar.gz"},
    })
    assert not succeeded
    assert lines == ["training job j: Failed", "FailureReason: AlgorithmError: The train channel has no target column",
                     "metric train_rows = 3"]


def test_log_lines_are_empty_until_the_jobs_log_group_exists(aws):
    tail = LogTail(boto3.client("logs", region_name=REGION), "/aws/sagemaker/ProcessingJobs", "job/")
    assert tail.lines() == []


def _append(project, text: str) -> None:
    path = project / "conf" / "aws" / "sagemaker.yml"
    path.write_text(path.read_text() + "\n" + text + "\n")


@pytest.mark.parametrize(
    ("command", "breakage", "message"),
    [
        # 49 configured tags + the 2 the project adds.
        (("train",), "tags", "tags: 51 entries (49 configured + 2 the project adds"),
        (("train",), "hyperparameters", "training.hyperparameters: 101 entries"),
        # Training takes 512 characters, processing 256; `process` would look up the newest
        # model in S3 before building its request.
        (("process", "inference"), "long_environment_value", "environment.LONG: the value is 300 characters; CreateProcessingJob"),
        # Transform takes 16 variables: every command checks every configured request.
        (("train",), "many_environment_variables", "API_CreateTransformJob.html#sagemaker-CreateTransformJob-request-Environment) takes at most 16"),
        (("process", "inference"), "processing_runtime", "processing.pipelines.inference.max_runtime_seconds: Input should be less than or equal to 777600"),
        (("transform",), "transform_payload", "transform.max_concurrent_transforms: max_concurrent_transforms x max_payload_mb = 10 x 20 = 200 MB"),
        (("deploy",), "volume_key_on_local_storage", "kms.volume_key_id: SageMaker refuses a volume KMS key"),
        (("train",), "image_uri", "image.uri: 'https://"),
        (("deploy",), "canary_on_one_instance", "endpoint.deployment.strategy: a canary deployment needs endpoint.instance_count >= 2"),
        (("deploy",), "capture_without_destination", "endpoint.data_capture.destination_s3_uri: is required when data capture is enabled"),
    ],
)
def test_a_configuration_over_sagemakers_limits_stops_before_any_aws_call(project, tripwire, monkeypatch, command,
                                                                          breakage, message):
    if breakage == "tags":
        _append(project, "tags:\n" + "".join(f"  t{i}: v\n" for i in range(48)))  # + base's `project`
    elif breakage == "hyperparameters":
        _edit(project, "  output_s3_uri: ${_root}/sagemaker/training",
              "  output_s3_uri: ${_root}/sagemaker/training\n  hyperparameters:\n"
              + "".join(f"    training.estimator.kwargs.p{i}: {i}\n" for i in range(101)))
    elif breakage == "long_environment_value":
        _append(project, f"environment:\n  LONG: {'x' * 300}")
    elif breakage == "many_environment_variables":
        _append(project, "environment:\n" + "".join(f"  V{i}: x\n" for i in range(14)))  # + base's 3 + the region
    elif breakage == "processing_runtime":
        _edit(project, "max_runtime_seconds: 7200", "max_runtime_seconds: 777601")
    elif breakage == "transform_payload":
        _edit(project, "  output_s3_uri: ${_root}/sagemaker/transform",
              "  output_s3_uri: ${_root}/sagemaker/transform\n  max_payload_mb: 20\n  max_concurrent_transforms: 10")
    elif breakage == "volume_key_on_local_storage":
        _edit(project, "instance_type: ml.m5.large", "instance_type: ml.g4dn.xlarge", env="base")
        _append(project, "kms:\n  volume_key_id: alias/volumes")
    elif breakage == "canary_on_one_instance":
        _edit(project, "instance_count: 2", "instance_count: 1", env="base")
    elif breakage == "capture_without_destination":
        _edit(project, "destination_s3_uri: ${_root}/01_raw/captured", "destination_s3_uri: null")
    else:
        monkeypatch.setenv("ML_ON_AWS_IMAGE_URI", f"https://{IMAGE_URI}")

    result = kedro_sagemaker(project, *command)

    assert result.exit_code != 0
    assert message in result.output, result.output
    assert tripwire == []


# Data capture and blue/green updates (issue 18). moto keeps an endpoint config's
# DataCaptureConfig and CloudWatch alarms but has no UpdateEndpoint: its server gets the aws
# loop's (the endpoint takes the new config; the DeploymentConfig is not kept), so the update's
# DeploymentConfig is read from the request as sent.

MODEL_KEY = "project/sagemaker/training/ml-on-aws-train-1/output/model.tar.gz"
ALARMS = ["ml-on-aws-invocation-5xx-errors", "ml-on-aws-model-latency", "ml-on-aws-live-quality"]


def _moto_update_endpoint(monkeypatch, responder) -> None:
    from moto.sagemaker.responses import SageMakerResponse

    monkeypatch.setattr(SageMakerResponse, "update_endpoint", responder, raising=False)


@pytest.fixture
def moto_updates_endpoints(monkeypatch):
    from ..scenario.aws_loop.emulator import update_endpoint

    _moto_update_endpoint(monkeypatch, update_endpoint)


def _rolled_back(reason: str, status: str = "InService"):
    """UpdateEndpoint as SageMaker ends it after a rollback: the endpoint back on (or, when the
    rollback failed, stuck off) its previous config, with a failure reason."""
    def respond(self):
        from moto.core.responses import ActionResult

        endpoint = self.sagemaker_backend.endpoints[self._get_param("EndpointName")]
        endpoint.failure_reason, endpoint.endpoint_status = reason, status
        return ActionResult({"EndpointArn": endpoint.arn})

    return respond


def test_deploy_creates_the_endpoint_with_data_capture_and_its_rollback_alarms(project, client, bucket):
    bucket.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=_model_archive())

    result = kedro_sagemaker(project, "deploy", "--wait")

    assert result.exit_code == 0, result.output
    endpoint = client.describe_endpoint(EndpointName="ml-on-aws")
    capture = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])["DataCaptureConfig"]
    destination = f"s3://{BUCKET}/project/01_raw/captured"
    assert (capture["EnableCapture"], capture["DestinationS3Uri"], capture["InitialSamplingPercentage"]) == (True, destination, 100)
    assert f"Data capture: 100% of requests and responses to {destination}/ml-on-aws/AllTraffic/yyyy/mm/dd/hh/" in result.output
    alarms = {a["AlarmName"]: a for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]}
    assert sorted(alarms) == sorted(ALARMS)
    assert alarms["ml-on-aws-invocation-5xx-errors"]["Dimensions"] == [
        {"Name": "EndpointName", "Value": "ml-on-aws"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    # The live-quality metric where conf/{base,aws}/cloudwatch.yml publishes it.
    live = alarms["ml-on-aws-live-quality"]
    assert (live["Namespace"], live["MetricName"]) == ("MlOnAws", "live_roc_auc")
    assert live["Dimensions"] == [{"Name": "ModelName", "Value": "ml-on-aws"}, {"Name": "Environment", "Value": "aws"},
                                  {"Name": "Dataset", "Value": "raw_data"}]


def test_capture_switched_off_leaves_it_out_of_the_endpoint_config(project, client, bucket):
    bucket.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=_model_archive())
    _edit(project, "  data_capture:\n    enabled: true", "  data_capture:\n    enabled: false")

    result = kedro_sagemaker(project, "deploy")

    assert result.exit_code == 0, result.output
    endpoint = client.describe_endpoint(EndpointName="ml-on-aws")
    assert not client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"]).get("DataCaptureConfig")
    assert "Data capture: off" in result.output


def test_a_second_deploy_updates_blue_green_with_the_rollback_alarms_read_as_sent_since_moto_drops_deployment_config(
        project, client, bucket, moto_updates_endpoints):
    bucket.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=_model_archive())
    session = boto3.Session(region_name=REGION)
    calls = record_calls(session.events)
    printed: list[str] = []
    config = load(project, "aws")

    assert launcher.Launcher(config, project, printed.append, session=session, poll_seconds=0).deploy(wait=True)
    assert launcher.Launcher(config, project, printed.append, session=session, poll_seconds=0).deploy(wait=True)

    [first, second] = [params["EndpointConfigName"] for name, params in calls if name == "CreateEndpointConfig"]
    update = sent(calls, "UpdateEndpoint")
    assert update["EndpointConfigName"] == second
    assert update["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 600,
                                            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}},
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in ALARMS]},
    }
    # The alarms the update names exist before it is sent.
    operations = [name for name, _ in calls]
    assert operations.index("PutMetricAlarm") < operations.index("UpdateEndpoint")
    assert client.describe_endpoint(EndpointName="ml-on-aws")["EndpointConfigName"] == second != first
    assert client.describe_endpoint_config(EndpointConfigName=second)["DataCaptureConfig"]["EnableCapture"]
    assert (f"Updating endpoint ml-on-aws to {second}: blue/green, canary of 1 instance(s), baking 600 s after each "
            f"step, rollback on {', '.join(ALARMS)}") in printed
    assert printed[-1] == "endpoint ml-on-aws: InService"


@pytest.mark.parametrize(("status", "line"), [
    ("InService", "Rolled back: endpoint ml-on-aws still serves {first}, not {second}: Alarm ml-on-aws-model-latency fired"),
    ("UpdateRollbackFailed", "Rollback failed: endpoint ml-on-aws is UpdateRollbackFailed (fix by hand, then deploy again): "
                             "Alarm ml-on-aws-model-latency fired"),
])
def test_a_rolled_back_update_is_said_in_one_line_and_fails_the_command(project, client, bucket, monkeypatch, status, line):
    bucket.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=_model_archive())
    assert kedro_sagemaker(project, "deploy").exit_code == 0
    first = client.describe_endpoint(EndpointName="ml-on-aws")["EndpointConfigName"]
    _moto_update_endpoint(monkeypatch, _rolled_back("Alarm ml-on-aws-model-latency fired", status))

    result = kedro_sagemaker(project, "deploy", "--wait")

    assert result.exit_code == 1, result.output
    [second] = [c["EndpointConfigName"] for c in client.list_endpoint_configs()["EndpointConfigs"]
                if c["EndpointConfigName"] != first]
    assert result.output.rstrip().splitlines()[-1] == line.format(first=first, second=second)


def test_rollback_alarms_nobody_created_stop_the_update_before_anything_is_created(project, client, bucket,
                                                                                    moto_updates_endpoints):
    bucket.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=_model_archive())
    _edit(project, "      create: true", "      create: false", env="base")
    assert kedro_sagemaker(project, "deploy").exit_code == 0  # a new endpoint has no deployment to guard
    configs = client.list_endpoint_configs()["EndpointConfigs"]

    result = kedro_sagemaker(project, "deploy")

    assert result.exit_code != 0
    assert (f"endpoint.deployment.rollback_alarms: CloudWatch has no alarm {', '.join(ALARMS)} in {REGION}; "
            "nothing was deployed") in result.output
    assert client.list_endpoint_configs()["EndpointConfigs"] == configs
    assert len(client.list_models()["Models"]) == 1


def test_the_phases_and_the_outcome_of_an_update_are_read_from_describe_endpoint():
    updating = {
        "EndpointName": "ml-on-aws", "EndpointStatus": "Updating", "EndpointConfigName": "old",
        "PendingDeploymentSummary": {"EndpointConfigName": "new", "ProductionVariants": [{
            "VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DesiredInstanceCount": 2, "CurrentWeight": 1.0,
            "VariantStatus": [{"Status": "Baking", "StatusMessage": "Baking canary for 600 seconds"}],
        }]},
    }
    assert launcher.deployment_phases(updating) == [
        "Updating, new fleet AllTraffic (1/2 instances, weight 1) Baking: Baking canary for 600 seconds"]
    assert launcher.deployment_phases({"EndpointStatus": "InService"}) == []
    assert launcher.update_outcome({**updating, "EndpointStatus": "InService", "EndpointConfigName": "new"}, "new") == (
        True, ["endpoint ml-on-aws: InService"])
    assert launcher.update_outcome({**updating, "EndpointStatus": "InService"}, "new") == (
        False, ["Rolled back: endpoint ml-on-aws still serves old, not new"])
    assert launcher.update_outcome({**updating, "EndpointStatus": "Failed", "FailureReason": "no capacity"}, "new")[0] is False


def test_following_an_update_shows_each_phase_once_and_sees_the_rollback(project, client, bucket):
    """SageMaker's progress through a canary that an alarm rolls back, as DescribeEndpoint reports
    it (moto has no deployments: a before-call hook answers DescribeEndpoint, each state twice,
    for the waiter's call and the launcher's)."""
    bucket.put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=_model_archive())
    assert kedro_sagemaker(project, "deploy").exit_code == 0
    old = client.describe_endpoint(EndpointName="ml-on-aws")

    def pending(status: str, message: str, weight: float) -> dict:
        return {"EndpointConfigName": "new", "ProductionVariants": [{
            "VariantName": "AllTraffic", "CurrentInstanceCount": 2, "DesiredInstanceCount": 2, "CurrentWeight": weight,
            "VariantStatus": [{"Status": status, "StatusMessage": message}]}]}

    states = [
        {**old, "EndpointStatus": "Updating", "PendingDeploymentSummary": pending("Creating", "Launching instances", 0.0)},
        {**old, "EndpointStatus": "Updating", "PendingDeploymentSummary": pending("Baking", "Canary: 1 instance", 1.0)},
        {**old, "EndpointStatus": "RollingBack"},
        {**old, "EndpointStatus": "InService", "FailureReason": "ml-on-aws-invocation-5xx-errors in ALARM"},
    ]
    script = [state for state in states for _ in range(2)]
    client.meta.events.register("before-call.sagemaker.DescribeEndpoint",
                                lambda **_: (AWSResponse("", 200, {}, None), script.pop(0) if len(script) > 1 else script[0]))
    printed: list[str] = []

    description = follow(client, launcher.ENDPOINT, "ml-on-aws", printed.append, poll_seconds=0)

    assert printed == [
        "ml-on-aws: Updating",
        "ml-on-aws: Updating, new fleet AllTraffic (2/2 instances, weight 0) Creating: Launching instances",
        "ml-on-aws: Updating, new fleet AllTraffic (2/2 instances, weight 1) Baking: Canary: 1 instance",
        "ml-on-aws: RollingBack",
        "ml-on-aws: InService",
    ]
    assert launcher.update_outcome(description, "new") == (False, [
        f"Rolled back: endpoint ml-on-aws still serves {old['EndpointConfigName']}, not new: "
        "ml-on-aws-invocation-5xx-errors in ALARM"])
