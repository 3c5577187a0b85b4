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

from ml_on_aws.core.config import ConfigurationError
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
    assert (variant["ModelName"], variant["InstanceType"], variant["InitialInstanceCount"]) == ("m1", "ml.m5.large", 2)

    sagemaker.create_endpoint(**rq.endpoint_request(config, config_name="c1", commit=COMMIT, exists=False))
    assert sagemaker.describe_endpoint(EndpointName="ml-on-aws")["EndpointConfigName"] == "c1"
    # moto has no update_endpoint: botocore's validator checks the in-place update request
    # (tests below: its DeploymentConfig).
    update = rq.endpoint_request(config, config_name="c2", commit=COMMIT, exists=True)
    assert {k: v for k, v in update.items() if k != "DeploymentConfig"} == {"EndpointName": "ml-on-aws", "EndpointConfigName": "c2"}
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


# Limits SageMaker checks only when a request arrives (botocore checks no maximums), refused by
# the builders on the final request, the entries the project adds included (requests.LIMITS).

MODEL_DATA = f"s3://{BUCKET}/project/sagemaker/training/job/output/model.tar.gz"
BUILDERS = {
    "CreateTrainingJob": lambda c: rq.training_job_request(c, image_uri=IMAGE_URI, job_name="j", commit=COMMIT),
    "CreateProcessingJob": lambda c: rq.processing_job_request(
        c, "inference", image_uri=IMAGE_URI, job_name="p", commit=COMMIT, model_data_url=MODEL_DATA),
    "CreateModel": lambda c: rq.model_request(c, model_name="m", image_uri=IMAGE_URI, model_data_url=MODEL_DATA, commit=COMMIT),
    "CreateTransformJob": lambda c: rq.transform_job_request(c, job_name="t", model_name="m", commit=COMMIT),
    "CreateEndpointConfig": lambda c: rq.endpoint_config_request(c, config_name="c", model_name="m", commit=COMMIT),
    "CreateEndpoint": lambda c: rq.endpoint_request(c, config_name="c", commit=COMMIT, exists=False),
}
ENVIRONMENT_PATH = {"CreateModel": ("PrimaryContainer", "Environment")}


def _with(**changes) -> object:
    raw = read(ROOT, "aws")
    raw.update(changes)
    return parse_config(raw)


def _found(request: dict, path: tuple) -> dict:
    for part in path:
        request = request.get(part, {})
    return request


def _added(operation: str, field: str) -> int:
    """How many entries the project itself puts in ``field`` of the ``operation`` request."""
    if field == "Tags":
        return len(BUILDERS[operation](_with(tags={}))["Tags"])
    if field == "HyperParameters":
        return len(_found(BUILDERS[operation](_with(training={**read(ROOT, "aws")["training"], "hyperparameters": {}})), (field,)))
    return len(_found(BUILDERS[operation](_with(environment={})), ENVIRONMENT_PATH.get(operation, ("Environment",))))


def test_the_limits_table_matches_botocores_service_model():
    from ml_on_aws.sagemaker import config as limits_of_config

    model = botocore.session.get_session().get_service_model("sagemaker")
    for operation, entries in rq.LIMITS.items():
        for limit in entries:
            shape = model.operation_model(operation).input_shape
            for part in limit.path:
                shape = shape.members[part]
            if shape.type_name == "list":  # Tags
                key, value = shape.member.members["Key"], shape.member.members["Value"]
            else:
                key, value = shape.key, shape.value
            assert (shape.metadata["max"], key.metadata["max"], value.metadata["max"]) == (
                limit.entries, limit.key_length, limit.value_length), (operation, limit.path)
    for operation, path in rq.IMAGES.items():
        shape = model.operation_model(operation).input_shape
        for part in path:
            shape = shape.members[part]
        assert shape.metadata["max"] == rq.IMAGE_MAX_LENGTH
    assert model.shape_for("ProcessingMaxRuntimeInSeconds").metadata["max"] == limits_of_config.PROCESSING_MAX_RUNTIME_SECONDS


@pytest.mark.parametrize("operation", BUILDERS)
def test_tags_count_the_two_the_project_adds(aws, operation):
    added = _added(operation, "Tags")
    assert added == 2  # ml-on-aws:git-commit and ml-on-aws:job
    at_limit = {f"t{i}": "v" for i in range(50 - added)}
    assert len(BUILDERS[operation](_with(tags=at_limit))["Tags"]) == 50
    with pytest.raises(ConfigurationError) as error:
        BUILDERS[operation](_with(tags={**at_limit, "one-more": "v"}))
    assert (f"tags: 51 entries (49 configured + 2 the project adds: {rq.TAG_COMMIT}, {rq.TAG_JOB}); "
            f"{operation} (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Tag.html) takes at most 50") in str(error.value)


@pytest.mark.parametrize(("tags", "message"), [
    ({"k" * 129: "v"}, "the name is 129 characters; CreateTrainingJob (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Tag.html) takes at most 128"),
    ({"owner": "v" * 257}, "tags.owner: the value is 257 characters; CreateTrainingJob"),
])
def test_tag_keys_over_128_and_values_over_256_characters_are_refused(aws, tags, message):
    BUILDERS["CreateTrainingJob"](_with(tags={"k" * 128: "v" * 256}))
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        BUILDERS["CreateTrainingJob"](_with(tags=tags))


# (operation, entries, key length, value length) from the API reference of each operation.
ENVIRONMENT_LIMITS = [
    ("CreateTrainingJob", 100, 512, 512),
    ("CreateProcessingJob", 100, 256, 256),
    ("CreateModel", 100, 1024, 1024),
    ("CreateTransformJob", 16, 1024, 10240),
]


@pytest.mark.parametrize(("operation", "entries", "key_length", "value_length"), ENVIRONMENT_LIMITS)
def test_environment_limits_differ_per_kind_of_request(aws, operation, entries, key_length, value_length):
    build = BUILDERS[operation]
    path = ENVIRONMENT_PATH.get(operation, ("Environment",))
    added = _added(operation, "Environment")
    at_limit = {f"V{i}": "x" for i in range(entries - added)}
    assert len(_found(build(_with(environment=at_limit)), path)) == entries
    build(_with(environment={"K" * key_length: "x" * min(value_length, 32 * 1024 - key_length - 64)}))

    with pytest.raises(ConfigurationError) as error:
        build(_with(environment={**at_limit, "ONE_MORE": "x"}))
    origin = f" ({entries - added + 1} configured + {added} the project adds" if added else ""
    assert f"environment: {entries + 1} entries{origin}" in str(error.value)
    assert f"takes at most {entries}" in str(error.value)
    with pytest.raises(ConfigurationError, match=rf"the name is {key_length + 1} characters; {operation} .* takes at most {key_length}"):
        build(_with(environment={"K" * (key_length + 1): "x"}))
    with pytest.raises(ConfigurationError, match=rf"environment\.LONG: the value is {value_length + 1} characters; {operation} .* takes at most {value_length}"):
        build(_with(environment={"LONG": "x" * (value_length + 1)}))
    with pytest.raises(ConfigurationError, match=rf"environment\.MY-VAR: {operation} .* takes only names matching"):
        build(_with(environment={"MY-VAR": "x"}))


def test_a_value_one_job_takes_another_refuses(aws):
    config = _with(environment={"LONG": "x" * 300})  # training takes 512 characters, processing 256
    BUILDERS["CreateTrainingJob"](config)
    with pytest.raises(ConfigurationError, match=r"environment\.LONG: the value is 300 characters; CreateProcessingJob"):
        BUILDERS["CreateProcessingJob"](config)


def test_a_models_environment_is_at_most_32_kb_in_all(aws):
    environment = {f"V{i:02d}": "x" * 1000 for i in range(33)}
    with pytest.raises(ConfigurationError, match=r"environment: names and values are 33\d\d\d bytes in all; CreateModel .* takes at most 32768"):
        BUILDERS["CreateModel"](_with(environment=environment))
    BUILDERS["CreateModel"](_with(environment=dict(list(environment.items())[:32])))


def _hyperparameters(values: dict) -> object:
    raw = read(ROOT, "aws")
    raw["training"]["hyperparameters"] = values
    return parse_config(raw)


def test_hyperparameters_over_100_or_too_long_are_refused_in_the_final_request(aws, sagemaker):
    added = _added("CreateTrainingJob", "HyperParameters")
    at_limit = {f"training.estimator.kwargs.p{i}": i for i in range(100 - added)}
    request = BUILDERS["CreateTrainingJob"](_hyperparameters(at_limit))
    assert len(request["HyperParameters"]) == 100
    sagemaker.create_training_job(**request)  # what passes the check is accepted

    with pytest.raises(ConfigurationError, match=r"training\.hyperparameters: 101 entries.*CreateTrainingJob .* takes at most 100"):
        BUILDERS["CreateTrainingJob"](_hyperparameters({**at_limit, "one.more": 1}))
    BUILDERS["CreateTrainingJob"](_hyperparameters({"k" * 256: "x" * 2500}))
    with pytest.raises(ConfigurationError, match=r"the name is 257 characters; CreateTrainingJob .* takes at most 256"):
        BUILDERS["CreateTrainingJob"](_hyperparameters({"k" * 257: 1}))
    # Measured as sent: a list becomes its JSON text.
    with pytest.raises(ConfigurationError, match=r"training\.hyperparameters\.note: the value is 2501 characters; CreateTrainingJob .* takes at most 2500"):
        BUILDERS["CreateTrainingJob"](_hyperparameters({"note": "x" * 2501}))


@pytest.mark.parametrize("uri", [
    IMAGE_URI,
    f"123456789012.dkr.ecr.{REGION}.amazonaws.com/team/ml-on-aws@sha256:{'a' * 64}",
    "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/ml-on-aws:v1.2",
    "127.0.0.1:5000/ml-on-aws:0123456789ab",      # another registry (docker-registry, for models)
    "registry.example.com/ml/ml-on-aws:latest",
    "ml-on-aws-contract:test",                     # a local image, for --local
])
def test_image_uris_in_a_form_sagemaker_pulls_are_accepted(aws, uri):
    config = _with()
    assert rq.training_job_request(config, image_uri=uri, job_name="j", commit=COMMIT)["AlgorithmSpecification"]["TrainingImage"] == uri
    rq.model_request(config, model_name="m", image_uri=uri, model_data_url=MODEL_DATA, commit=COMMIT)


@pytest.mark.parametrize(("uri", "message"), [
    (f"https://{IMAGE_URI}", "is not an image reference"),
    (f"{IMAGE_URI} ", "is not an image reference"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ML-on-AWS:1", "is not an image reference"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml-on-aws:", "is not an image reference"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml-on-aws@sha256:abc", "is not an image reference"),
    ("12345.dkr.ecr.eu-west-1.amazonaws.com/ml-on-aws:1", "'12345.dkr.ecr.eu-west-1.amazonaws.com' is not an ECR registry"),
    ("123456789012.dkr.ecr.amazonaws.com/ml-on-aws:1", "is not an ECR registry"),
    (f"{IMAGE_URI.rsplit(':', 1)[0]}/{'a' * 200}:1", "characters; SageMaker takes image URIs of at most 255"),
])
def test_image_uris_sagemaker_cannot_pull_are_refused_naming_the_key(aws, uri, message):
    config = _with()
    for operation in ("CreateTrainingJob", "CreateProcessingJob", "CreateModel"):
        with pytest.raises(ConfigurationError, match=f"(?s){operation} request .*image\\.uri: .*{re.escape(message)}"):
            {"CreateTrainingJob": lambda: rq.training_job_request(config, image_uri=uri, job_name="j", commit=COMMIT),
             "CreateProcessingJob": lambda: rq.processing_job_request(config, "inference", image_uri=uri, job_name="p",
                                                                      commit=COMMIT, model_data_url=MODEL_DATA),
             "CreateModel": lambda: rq.model_request(config, model_name="m", image_uri=uri, model_data_url=MODEL_DATA,
                                                     commit=COMMIT)}[operation]()


def test_check_requests_builds_every_configured_request(aws):
    config = _with(environment={f"V{i}": "x" for i in range(17)})  # over transform's 16 only
    BUILDERS["CreateTrainingJob"](config)
    with pytest.raises(ConfigurationError, match=r"(?s)CreateTransformJob request .*environment: \d+ entries"):
        rq.check_requests(config, image_uri=IMAGE_URI, commit=COMMIT)
    raw = read(ROOT, "aws")
    raw.pop("transform")
    raw["environment"] = {f"V{i}": "x" for i in range(17)}
    rq.check_requests(parse_config(raw), image_uri=IMAGE_URI, commit=COMMIT)


# Data capture and blue/green deployments (issue 18): the shipped aws configuration, and variants
# of it, validated by botocore's model; what moto keeps is read back from it.

CAPTURE_DESTINATION = f"s3://{BUCKET}/project/01_raw/captured"


def _endpoint(kms: dict | None = None, **changes) -> object:
    """conf/aws's configuration with keys of ``endpoint`` replaced (``deployment__strategy`` is
    ``endpoint.deployment.strategy``) and the ``kms`` keys given."""
    raw = read(ROOT, "aws")
    raw["kms"] = {**raw["kms"], **(kms or {})}
    for dotted, value in changes.items():
        node = raw["endpoint"]
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return parse_config(raw)


def test_the_endpoint_config_captures_requests_and_responses_and_moto_keeps_it(aws, sagemaker, calls):
    config = _with()
    sagemaker.create_model(**rq.model_request(config, model_name="m1", image_uri=IMAGE_URI, model_data_url=MODEL_DATA, commit=COMMIT))
    request = rq.endpoint_config_request(config, config_name="c1", model_name="m1", commit=COMMIT)
    _valid("CreateEndpointConfig", request)
    sagemaker.create_endpoint_config(**request)

    captured = sagemaker.describe_endpoint_config(EndpointConfigName="c1")["DataCaptureConfig"]
    assert captured == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        # Where the catalog's captured_data points under --env aws (issue 18, interface 1).
        "DestinationS3Uri": CAPTURE_DESTINATION,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
    }
    assert sent(calls, "CreateEndpointConfig")["DataCaptureConfig"] == captured


@pytest.mark.parametrize(("changes", "kms", "expected"), [
    ({"data_capture__enabled": False}, {}, None),
    ({}, {"output_key_id": "alias/outputs"},
     {"KmsKeyId": "alias/outputs", "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}),
    ({"data_capture__kms_key_id": "alias/capture"}, {"output_key_id": "alias/outputs"},
     {"KmsKeyId": "alias/capture", "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}),
    ({"data_capture__capture_output": False, "data_capture__sampling_percentage": 20}, {},
     {"CaptureOptions": [{"CaptureMode": "Input"}], "InitialSamplingPercentage": 20}),
    ({"data_capture__csv_content_types": ["text/csv", "text/plain"]}, {},
     {"CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv", "text/plain"], "JsonContentTypes": ["application/json"]}}),
], ids=["off", "output-kms-key", "own-kms-key", "input-only-20-percent", "more-csv-types"])
def test_data_capture_follows_its_switch_sampling_and_kms_key(aws, changes, kms, expected):
    request = rq.endpoint_config_request(_endpoint(kms, **changes), config_name="c", model_name="m", commit=COMMIT)
    _valid("CreateEndpointConfig", request)
    if expected is None:
        assert "DataCaptureConfig" not in request
    else:
        assert request["DataCaptureConfig"].items() >= expected.items()
        assert "KmsKeyId" not in request  # the endpoint's volume key is kms.volume_key_id, unset here


ROLLBACK_ALARMS = [{"AlarmName": "ml-on-aws-invocation-5xx-errors"}, {"AlarmName": "ml-on-aws-model-latency"},
                   {"AlarmName": "ml-on-aws-live-quality"}]


@pytest.mark.parametrize(("changes", "routing"), [
    ({}, {"Type": "CANARY", "WaitIntervalInSeconds": 600, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}),
    ({"instance_count": 4, "deployment__canary_size": "25%", "deployment__wait_interval_seconds": 300},
     {"Type": "CANARY", "WaitIntervalInSeconds": 300, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25}}),
    ({"instance_count": 4, "deployment__strategy": "linear"},
     {"Type": "LINEAR", "WaitIntervalInSeconds": 600, "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1}}),
    ({"instance_count": 10, "deployment__strategy": "linear", "deployment__linear_step_size": "20%",
      "deployment__wait_interval_seconds": 120},
     {"Type": "LINEAR", "WaitIntervalInSeconds": 120, "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 20}}),
    ({"instance_count": 1, "deployment__strategy": "all_at_once"}, {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}),
], ids=["canary-shipped", "canary-percent", "linear-instances", "linear-percent", "all-at-once-one-instance"])
def test_an_update_is_a_blue_green_deployment_rolled_back_by_the_endpoints_alarms(aws, changes, routing):
    request = rq.endpoint_request(_endpoint(**changes), config_name="c2", commit=COMMIT, exists=True)
    _valid("UpdateEndpoint", request)
    assert request["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": ROLLBACK_ALARMS},
    }


def test_rollback_alarms_can_be_named_or_left_out(aws):
    named = rq.endpoint_request(_endpoint(deployment__rollback_alarms=["team-endpoint-errors"]),
                                config_name="c", commit=COMMIT, exists=True)
    assert named["DeploymentConfig"]["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "team-endpoint-errors"}]}
    none = rq.endpoint_request(_endpoint(deployment__rollback_alarms=[]), config_name="c", commit=COMMIT, exists=True)
    _valid("UpdateEndpoint", none)
    assert "AutoRollbackConfiguration" not in none["DeploymentConfig"]
    # A new endpoint has no deployment to guard.
    assert "DeploymentConfig" not in rq.endpoint_request(_endpoint(), config_name="c", commit=COMMIT, exists=False)


def test_extra_tags_join_the_endpoint_configs_tags_and_count_against_the_limit(aws):
    lineage = [{"Key": "ml-on-aws:model-version", "Value": "credit/3"}, {"Key": "project", "Value": "override"}]
    request = rq.endpoint_config_request(_with(), config_name="c", model_name="m", commit=COMMIT, extra_tags=lineage)
    _valid("CreateEndpointConfig", request)
    tags = {t["Key"]: t["Value"] for t in request["Tags"]}
    assert tags["ml-on-aws:model-version"] == "credit/3"
    assert tags["project"] == "override"  # an extra tag replaces a configured one of the same key
    assert len(request["Tags"]) == len(set(tags))

    at_limit = {f"t{i}": "v" for i in range(47)}  # + the project's 2 + 1 extra = 50
    rq.endpoint_config_request(_with(tags=at_limit), config_name="c", model_name="m", commit=COMMIT, extra_tags=lineage[:1])
    with pytest.raises(ConfigurationError, match=r"tags: 51 entries \(48 configured \+ 3 the project adds: .*ml-on-aws:model-version"):
        rq.endpoint_config_request(_with(tags={**at_limit, "one-more": "v"}), config_name="c", model_name="m",
                                   commit=COMMIT, extra_tags=lineage[:1])
