"""The request builders: names SageMaker accepts, and requests its real service model accepts.

Each request is validated by botocore against the SageMaker service model and sent to moto's
server over HTTP; the assertions read back what the server recorded. moto records jobs and
reports them Completed at once: nothing here runs a container.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator

from ml_on_aws.config import ConfigurationError
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import parse_config, read

from .conftest import BUCKET, IMAGE_URI, REGION, ROLE_ARN, ROOT, record_calls, sent

COMMIT = "0123456789ab"
NOW = datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=UTC)
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@pytest.fixture
def config(aws):
    raw = read(ROOT, "aws")
    raw["training"]["hyperparameters"] = {"training.search.n_iter": 20, "split.stratify": True, "note": "abc"}
    raw["processing"]["pipelines"]["inference"]["instance_count"] = 3
    return parse_config(raw)


@pytest.fixture
def sagemaker(aws):
    return boto3.client("sagemaker", region_name=REGION)


@pytest.fixture
def calls(sagemaker):
    return record_calls(sagemaker.meta.events)


def _valid(operation: str, request: dict) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def test_job_names_are_traceable_unique_and_valid():
    name = rq.job_name("ml-on-aws", "inference", COMMIT, NOW)
    assert name == "ml-on-aws-inference-0123456-20261128-093015-123"
    later = rq.job_name("ml-on-aws", "inference", COMMIT, NOW.replace(microsecond=124_000))
    assert later != name
    long = rq.job_name("my_team.project", "feature_engineering_and_validation_of_new_data", "abc+dirty", NOW)
    assert len(long) <= 63 and NAME_PATTERN.match(long)
    assert long.endswith("-abc-dir-20261128-093015-123")


def test_hyperparameters_are_sent_as_strings():
    assert rq.hyperparameter_values({"a": 20, "b": True, "c": "x", "d": 0.5, "e": [1, 2]}) == {
        "a": "20", "b": "true", "c": "x", "d": "0.5", "e": "[1, 2]",
    }


def test_training_request_reaches_sagemaker_with_every_field(config, sagemaker, calls):
    name = rq.job_name(config.name_prefix, "train", COMMIT, NOW)
    sagemaker.create_training_job(**rq.training_job_request(config, image_uri=IMAGE_URI, job_name=name, commit=COMMIT))
    job = sagemaker.describe_training_job(TrainingJobName=name)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE_URI
    assert job["RoleArn"] == ROLE_ARN
    assert job["HyperParameters"] == {"training.search.n_iter": "20", "split.stratify": "true", "note": "abc"}
    [channel] = job["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == config.training.channels["train"].s3_uri
    # moto does not keep metric definitions: read them from the request it accepted.
    algorithm = sent(calls, "CreateTrainingJob")["AlgorithmSpecification"]
    metrics = {m["Name"]: m["Regex"] for m in algorithm["MetricDefinitions"]}
    assert metrics.keys() >= {"test_roc_auc", "test_rmse"}
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/project/sagemaker/training"
    assert job["ResourceConfig"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
    tags = sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
    assert {"Key": rq.TAG_COMMIT, "Value": COMMIT} in tags


def test_processing_request_shards_the_data_and_gives_every_instance_the_model(config, sagemaker, calls):
    name = rq.job_name(config.name_prefix, "inference", COMMIT, NOW)
    model = f"s3://{BUCKET}/project/sagemaker/training/job/output/model.tar.gz"
    request = rq.processing_job_request(
        config, "inference", image_uri=IMAGE_URI, job_name=name, commit=COMMIT, model_data_url=model
    )
    sagemaker.create_processing_job(**request)
    job = sagemaker.describe_processing_job(ProcessingJobName=name)
    app = job["AppSpecification"]
    assert app["ImageUri"] == IMAGE_URI
    assert app["ContainerEntrypoint"] == config.processing.entrypoint
    assert app["ContainerArguments"] == ["inference"]
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    assert inputs["new_data"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert inputs["new_data"]["LocalPath"] == "/opt/ml/processing/input/new_data"
    assert inputs["model"] == {
        "S3Uri": model, "LocalPath": "/opt/ml/processing/input/model", "S3DataType": "S3Prefix",
        "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated",
    }
    [output] = job["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == f"s3://{BUCKET}/project/sagemaker/predictions"
    # moto does not keep the cluster: read it from the request it accepted.
    cluster = sent(calls, "CreateProcessingJob")["ProcessingResources"]["ClusterConfig"]
    assert cluster == {"InstanceCount": 3, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}


def test_processing_an_unconfigured_pipeline_names_the_configured_ones(config):
    with pytest.raises(ConfigurationError, match=r"processing\.pipelines\.drift .*configured: data_validation, inference"):
        rq.processing_job_request(config, "drift", image_uri=IMAGE_URI, job_name="x", commit=COMMIT)


def test_model_endpoint_and_transform_requests_reach_sagemaker(config, sagemaker):
    model_data = f"s3://{BUCKET}/project/sagemaker/training/job/output/model.tar.gz"
    sagemaker.create_model(**rq.model_request(config, model_name="m1", image_uri=IMAGE_URI, model_data_url=model_data, commit=COMMIT))
    model = sagemaker.describe_model(ModelName="m1")
    assert model["PrimaryContainer"]["Image"] == IMAGE_URI
    assert model["PrimaryContainer"]["ModelDataUrl"] == model_data
    assert model["ExecutionRoleArn"] == ROLE_ARN

    sagemaker.create_endpoint_config(**rq.endpoint_config_request(config, config_name="c1", model_name="m1", commit=COMMIT))
    [variant] = sagemaker.describe_endpoint_config(EndpointConfigName="c1")["ProductionVariants"]
    assert (variant["ModelName"], variant["InstanceType"], variant["InitialInstanceCount"]) == ("m1", "ml.m5.large", 1)

    sagemaker.create_endpoint(**rq.endpoint_request(config, config_name="c1", commit=COMMIT, exists=False))
    assert sagemaker.describe_endpoint(EndpointName="ml-on-aws")["EndpointConfigName"] == "c1"
    # moto has no update_endpoint: botocore's validator checks the in-place update request.
    update = rq.endpoint_request(config, config_name="c2", commit=COMMIT, exists=True)
    assert update == {"EndpointName": "ml-on-aws", "EndpointConfigName": "c2"}
    _valid("UpdateEndpoint", update)

    sagemaker.create_transform_job(**rq.transform_job_request(config, job_name="t1", model_name="m1", commit=COMMIT))
    job = sagemaker.describe_transform_job(TransformJobName="t1")
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == config.transform.input_s3_uri
    assert job["TransformInput"]["SplitType"] == "Line"
    assert job["TransformOutput"]["S3OutputPath"] == config.transform.output_s3_uri
    assert job["TransformResources"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}


def test_kms_keys_vpc_and_network_isolation_reach_every_request(aws):
    raw = read(ROOT, "aws")
    raw.update(
        kms={"volume_key_id": "alias/volumes", "output_key_id": "alias/outputs"},
        vpc={"subnets": ["subnet-1"], "security_group_ids": ["sg-1"]},
        network_isolation=True,
    )
    config = parse_config(raw)
    training = rq.training_job_request(config, image_uri=IMAGE_URI, job_name="j", commit=COMMIT)
    processing = rq.processing_job_request(config, "inference", image_uri=IMAGE_URI, job_name="p", commit=COMMIT, model_data_url="s3://b/m.tar.gz")
    model = rq.model_request(config, model_name="m", image_uri=IMAGE_URI, model_data_url="s3://b/m.tar.gz", commit=COMMIT)
    transform = rq.transform_job_request(config, job_name="t", model_name="m", commit=COMMIT)
    for operation, request in [("CreateTrainingJob", training), ("CreateProcessingJob", processing),
                               ("CreateModel", model), ("CreateTransformJob", transform)]:
        _valid(operation, request)
    assert training["ResourceConfig"]["VolumeKmsKeyId"] == "alias/volumes"
    assert training["OutputDataConfig"]["KmsKeyId"] == "alias/outputs"
    assert training["EnableNetworkIsolation"] and model["EnableNetworkIsolation"]
    assert processing["NetworkConfig"] == {
        "EnableNetworkIsolation": True, "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
    }
    assert processing["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == "alias/volumes"
    assert transform["TransformOutput"]["KmsKeyId"] == "alias/outputs"
