"""The schema of sagemaker.yml: the shipped files parse, and every mistake names its key."""

from __future__ import annotations

import copy
import re

import pytest

from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.sagemaker.config import instance_types, load, parse_config, read, with_channels

from .conftest import BUCKET, ROLE_ARN, ROOT


@pytest.fixture
def raw(aws: str) -> dict:
    """conf/base + conf/aws sagemaker.yml with the variables of a real account set."""
    return read(ROOT, "aws")


def test_shipped_aws_configuration_parses_with_the_variables_set(raw):
    config = parse_config(raw)
    assert config.role_arn == ROLE_ARN
    assert config.region == "eu-west-1"
    assert config.training.channels["train"].s3_uri.startswith(f"s3://{BUCKET}/project/")
    assert config.training.output_s3_uri == f"s3://{BUCKET}/project/sagemaker/training"
    inference = config.processing.pipelines["inference"]
    assert inference.inputs["new_data"].distribution == "ShardedByS3Key"


def test_a_metric_name_becomes_a_regex_matching_the_line_the_container_prints(raw):
    definitions = {m.name: m.regex for m in parse_config(raw).training.metric_definitions}
    match = re.search(definitions["test_roc_auc"], "2026-11-28 INFO test_roc_auc=0.8464")
    assert match and match.group(1) == "0.8464"
    assert re.search(definitions["test_rmse"], "test_rmse=1.5e+04").group(1) == "1.5e+04"
    # A metric whose name ends another one's must not pick up the other's value.
    assert re.search(definitions["test_f1"], "test_macro_f1=0.7") is None


def test_without_the_account_variables_the_error_names_each_missing_key(aws, monkeypatch):
    for variable in ("AWS_REGION", "ML_ON_AWS_SAGEMAKER_ROLE_ARN"):
        monkeypatch.delenv(variable)
    with pytest.raises(ConfigurationError) as error:
        load(ROOT, "aws")
    message = str(error.value)
    assert "role_arn: is required" in message
    assert "region: is required" in message


def test_without_the_bucket_variable_the_error_names_it(aws, monkeypatch):
    monkeypatch.delenv("ML_ON_AWS_BUCKET")
    with pytest.raises(ConfigurationError, match=r"sagemaker\.yml: Environment variable ML_ON_AWS_BUCKET is not set"):
        load(ROOT, "aws")


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (("role_arn",), "MlOnAwsSageMaker", "role_arn"),
        (("region",), "Ireland", "region"),
        (("training", "instance_type"), "ml.m5.huge", "training.instance_type"),
        (("training", "instance_count"), 0, "training.instance_count"),
        (("training", "output_s3_uri"), f"https://{BUCKET}.s3.amazonaws.com/models", "training.output_s3_uri"),
        (("training", "channels", "train", "s3_uri"), f"{BUCKET}/data", "training.channels.train.s3_uri"),
        (("processing", "pipelines", "inference", "instance_type"), "m5.xlarge", "processing.pipelines.inference.instance_type"),
        (("endpoint", "instance_type"), "ml.p9.large", "endpoint.instance_type"),
        (("transform", "output_s3_uri"), "s3://Upper_Case/x", "transform.output_s3_uri"),
        (("training", "metric_definitions"), [{"name": "auc", "regex": "auc=[0-9.]+"}], "training.metric_definitions.0"),
        (("training", "unknown_key"), 1, "training.unknown_key"),
        (("training", "channels", "validation"), {"s3_uri": f"s3://{BUCKET}/v.csv"}, "training.channels"),
    ],
)
def test_a_wrong_value_is_reported_with_its_key(raw, path, value, key):
    broken = copy.deepcopy(raw)
    node = broken
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ConfigurationError, match=re.escape(key) + ":"):
        parse_config(broken)


def test_instance_types_come_from_botocore_per_kind_of_job():
    assert "ml.m5.xlarge" in instance_types("Training")
    assert "ml.t3.medium" in instance_types("Processing")
    # Burstable instances host endpoints but do not train.
    assert "ml.t2.medium" in instance_types("ProductionVariant")
    assert "ml.t2.medium" not in instance_types("Training")


def test_channels_given_on_the_command_line_are_added_checked_and_keep_the_rest(raw):
    config = parse_config(raw)
    test_uri, reference_uri = f"s3://{BUCKET}/held-out/test.csv", f"s3://{BUCKET}/prod/reference_data.parquet"
    changed = with_channels(config, {"train": None, "test": test_uri, "reference": reference_uri})
    assert changed.training.channels["test"].s3_uri == test_uri
    assert changed.training.channels["reference"].s3_uri == reference_uri
    assert changed.training.channels["train"] == config.training.channels["train"]
    assert with_channels(config, {"test": None}) is config
    with pytest.raises(ConfigurationError, match=r"training\.channels\.test\.s3_uri: must be an S3 location"):
        with_channels(config, {"test": "held-out/test.csv"})


# Limits SageMaker checks only at call time, refused when the configuration is read
# (src/ml_on_aws/sagemaker/config.py cites the API reference of each).


def _set(raw: dict, path: tuple, value) -> dict:
    changed = copy.deepcopy(raw)
    node = changed
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        # ProcessingStoppingCondition.MaxRuntimeInSeconds: at most 777,600 s (9 days).
        (("processing", "pipelines", "inference", "max_runtime_seconds"), 777_601,
         "processing.pipelines.inference.max_runtime_seconds: Input should be less than or equal to 777600"),
        # Training's StoppingCondition.MaxRuntimeInSeconds: at most 28 days.
        (("training", "max_runtime_seconds"), 28 * 86_400 + 1,
         "training.max_runtime_seconds: Input should be less than or equal to 2419200"),
        # CreateTransformJob.MaxPayloadInMB: at most 100.
        (("transform", "max_payload_mb"), 101, "transform.max_payload_mb: Input should be less than or equal to 100"),
    ],
)
def test_run_times_and_payloads_over_sagemakers_maximum_are_refused(raw, path, value, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        parse_config(_set(raw, path, value))
    parse_config(_set(raw, path, value - 1))


def test_processing_may_run_9_days_but_not_as_long_as_training(raw):
    assert parse_config(_set(raw, ("training", "max_runtime_seconds"), 1_000_000)).training.max_runtime_seconds == 1_000_000
    with pytest.raises(ConfigurationError, match=r"processing\.pipelines\.data_validation\.max_runtime_seconds:"):
        parse_config(_set(raw, ("processing", "pipelines", "data_validation", "max_runtime_seconds"), 1_000_000))


def test_transform_payload_times_concurrent_transforms_over_100_mb_is_refused(raw):
    raw = _set(raw, ("transform", "max_payload_mb"), 20)
    assert parse_config(_set(raw, ("transform", "max_concurrent_transforms"), 5)).transform.max_concurrent_transforms == 5
    with pytest.raises(ConfigurationError) as error:
        parse_config(_set(raw, ("transform", "max_concurrent_transforms"), 6))
    assert "transform.max_concurrent_transforms: max_concurrent_transforms x max_payload_mb = 6 x 20 = 120 MB; " \
           "SageMaker allows at most 100 MB" in str(error.value)
    # 0 lets SageMaker choose (the container's execution-parameters, else 1).
    parse_config(_set(raw, ("transform", "max_concurrent_transforms"), 0))


@pytest.mark.parametrize(
    ("path", "instance_type"),
    [
        (("training", "instance_type"), "ml.g5.xlarge"),
        (("training", "instance_type"), "ml.p4d.24xlarge"),
        (("processing", "pipelines", "inference", "instance_type"), "ml.r5d.large"),
        (("transform", "instance_type"), "ml.g4dn.xlarge"),
        (("endpoint", "instance_type"), "ml.c5d.large"),
    ],
)
def test_a_volume_kms_key_with_instances_that_have_local_storage_is_refused(raw, path, instance_type):
    keyed = _set(raw, ("kms", "volume_key_id"), "alias/volumes")
    parse_config(keyed)  # the shipped ml.m5.* types are EBS-backed
    parse_config(_set(raw, path, instance_type))  # without a volume key, any type
    with pytest.raises(ConfigurationError) as error:
        parse_config(_set(keyed, path, instance_type))
    message = str(error.value)
    assert "kms.volume_key_id: SageMaker refuses a volume KMS key on instance types with local (NVMe) instance storage" in message
    assert f"{'.'.join(path)} {instance_type}" in message


def test_instance_storage_is_read_from_the_family_name():
    from ml_on_aws.sagemaker.config import has_instance_storage

    local = ["ml.m5d.large", "ml.c5d.xlarge", "ml.r5d.large", "ml.m6gd.large", "ml.r7gd.large", "ml.g4dn.xlarge",
             "ml.p3dn.24xlarge", "ml.p4d.24xlarge", "ml.p4de.24xlarge", "ml.g5.xlarge", "ml.g6.xlarge",
             "ml.p5.48xlarge", "ml.trn1.2xlarge", "ml.trn1n.32xlarge", "ml.p6-b200.48xlarge"]
    ebs = ["ml.m5.xlarge", "ml.c5.xlarge", "ml.c5n.xlarge", "ml.c6gn.large", "ml.m7i-flex.large", "ml.p3.2xlarge",
           "ml.t3.medium", "ml.inf2.xlarge", "ml.c6in.large"]
    assert [t for t in local if not has_instance_storage(t)] == []
    assert [t for t in ebs if has_instance_storage(t)] == []


# Data capture and the blue/green deployment of `deploy` (endpoint.data_capture, endpoint.deployment).


def test_the_shipped_configuration_captures_to_where_the_monitoring_pipeline_reads(raw):
    endpoint = parse_config(raw).endpoint
    assert endpoint.data_capture.enabled
    assert endpoint.data_capture.destination_s3_uri == f"s3://{BUCKET}/project/01_raw/captured"
    assert endpoint.deployment.strategy == "canary" and endpoint.instance_count >= 2


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("data_capture", "sampling_percentage"), 101, "endpoint.data_capture.sampling_percentage: Input should be less than or equal to 100"),
        (("data_capture", "destination_s3_uri"), None,
         "endpoint.data_capture.destination_s3_uri: is required when data capture is enabled"),
        (("data_capture", "destination_s3_uri"), "captured/", "endpoint.data_capture.destination_s3_uri: must be an S3 location"),
        (("data_capture", "capture_input"), False, None),  # with capture_output false too, below
        (("data_capture", "csv_content_types"), [], "endpoint.data_capture.csv_content_types: List should have at least 1 item"),
        (("data_capture", "sample_rate"), 10, "endpoint.data_capture.sample_rate: Extra inputs are not permitted"),
        (("deployment", "strategy"), "blue_green", "endpoint.deployment.strategy: Input should be 'canary', 'linear' or 'all_at_once'"),
        (("deployment", "canary_size"), "60%", "endpoint.deployment.canary_size: 60% of the new fleet; SageMaker takes at most 50%"),
        (("deployment", "canary_size"), 2, "endpoint.deployment.canary_size: 2 of 2 instances is 100%; SageMaker takes at most 50%"),
        (("deployment", "canary_size"), "a quarter", "endpoint.deployment.canary_size: must be an instance count (e.g. 1) or a share"),
        (("deployment", "canary_size"), True, "endpoint.deployment.canary_size: must be an instance count"),
        (("deployment", "wait_interval_seconds"), 3601, "endpoint.deployment.wait_interval_seconds: Input should be less than or equal to 3600"),
        (("deployment", "maximum_execution_timeout_seconds"), 1200,
         "endpoint.deployment.maximum_execution_timeout_seconds: must be larger than the waits of the deployment, 1200 s"),
        (("deployment", "rollback_alarms"), [f"a{i}" for i in range(11)], "endpoint.deployment.rollback_alarms: List should have at most 10 items"),
        (("deployment", "alarms", "latency_threshold_us"), 0, "endpoint.deployment.alarms.latency_threshold_us: Input should be greater than or equal to 1"),
        (("deployment", "alarms", "live_quality_metric"), "test_roc_auc", "endpoint.deployment.alarms.live_quality_metric: String should match pattern"),
        (("deployment", "alarms", "creat"), True, "endpoint.deployment.alarms.creat: Extra inputs are not permitted"),
    ],
)
def test_a_wrong_capture_or_deployment_setting_is_reported_with_its_key(raw, path, value, message):
    broken = _set(raw, ("endpoint", *path), value)
    if path[-1] == "capture_input":
        broken = _set(broken, ("endpoint", "data_capture", "capture_output"), False)
        message = "endpoint.data_capture.capture_input: capture_input and capture_output are both false"
    with pytest.raises(ConfigurationError) as error:
        parse_config(broken)
    assert message in str(error.value)


def test_capture_off_needs_no_destination(raw):
    off = _set(_set(raw, ("endpoint", "data_capture", "enabled"), False), ("endpoint", "data_capture", "destination_s3_uri"), None)
    assert not parse_config(off).endpoint.data_capture.enabled


@pytest.mark.parametrize(
    ("instances", "deployment", "message"),
    [
        (1, {"strategy": "canary"}, "endpoint.deployment.strategy: a canary deployment needs endpoint.instance_count >= 2 (it is 1)"),
        (1, {"strategy": "linear"}, "endpoint.deployment.strategy: a linear deployment needs endpoint.instance_count >= 2"),
        (20, {"strategy": "linear", "linear_step_size": 1}, "endpoint.deployment.linear_step_size: 1 of 20 instances is 5%; SageMaker takes 10% to 50%"),
        (4, {"strategy": "linear", "linear_step_size": "5%"}, "endpoint.deployment.linear_step_size: 5% of the new fleet; SageMaker takes 10% to 50%"),
        # Four linear steps of 25%, each followed by 600 s, are 2400 s of waiting.
        (4, {"strategy": "linear", "linear_step_size": "25%", "maximum_execution_timeout_seconds": 2400},
         "endpoint.deployment.maximum_execution_timeout_seconds: must be larger than the waits of the deployment, 2400 s (4 x"),
    ],
)
def test_traffic_steps_must_fit_the_fleet(raw, instances, deployment, message):
    changed = _set(raw, ("endpoint", "instance_count"), instances)
    for key, value in deployment.items():
        changed = _set(changed, ("endpoint", "deployment", key), value)
    with pytest.raises(ConfigurationError) as error:
        parse_config(changed)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("instances", "deployment"),
    [
        (1, {"strategy": "all_at_once"}),
        (2, {"strategy": "canary", "canary_size": "50%"}),
        (10, {"strategy": "linear", "linear_step_size": 1, "maximum_execution_timeout_seconds": 7200}),
        (4, {"strategy": "linear", "linear_step_size": "25%", "maximum_execution_timeout_seconds": 2401}),
    ],
)
def test_traffic_steps_sagemaker_takes_are_accepted(raw, instances, deployment):
    changed = _set(raw, ("endpoint", "instance_count"), instances)
    for key, value in deployment.items():
        changed = _set(changed, ("endpoint", "deployment", key), value)
    assert parse_config(changed).endpoint.deployment.strategy == deployment["strategy"]
