"""The monitoring schedule: EventBridge's scheduled event -> the monitoring-schedule function -> the
``monitoring`` processing job of the scheduled window, against moto's server.

moto records the jobs (it never runs them) and cannot run Lambda code, so the handler is called as
plain Python here, as from its zip in test_lambda_package.py. Its role is checked with moto enforcing
IAM (``moto_enforces_credentials``): the role the stack creates, assumed through STS, may start
the monitoring job and is refused everything else tried.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from cfnlint.decode import decode_str

from ml_on_aws.control.stack import deploy
from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.lambda_runtime.handlers import (
    ArrivalSettings,
    Clients,
    handle_data_arrival,
    handle_retraining,
)
from ml_on_aws.lambda_runtime.monitoring import (
    MonitoringSettings,
    handle_monitoring_schedule,
    monitoring_job_name,
    scheduled_time,
)
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import parse_config
from tests.aws.conftest import moto_enforces_credentials
from tests.aws.events.conftest import (
    BUCKET,
    IMAGE_URI,
    PREFIX,
    REGION,
    client,
    clients,
    processing_jobs,
    sample_event,
    with_monitoring,
)
from tests.infra.test_template import TEMPLATE_PATH

DAILY = MonitoringSettings(pipeline="monitoring", window_hours=24)
MODEL_KEY = f"{PREFIX}/sagemaker/training/ml-on-aws-train-1/output/model.tar.gz"  # data_bucket's model


@pytest.fixture
def config(packaged_config: dict):
    return parse_config(with_monitoring(packaged_config))


def scheduled_at(when: str) -> dict:
    return {**sample_event("scheduled_event"), "time": when}


def test_a_scheduled_event_starts_the_monitoring_job_of_its_window(config, data_bucket: str) -> None:
    outcome = handle_monitoring_schedule(sample_event("scheduled_event"), config, DAILY, IMAGE_URI, clients())

    [job] = processing_jobs()
    name = job["ProcessingJobName"]
    assert outcome == {"status": "started", "job": name, "window_end": "2026-12-01T02:00:00Z", "window_hours": 24}
    assert name == "ml-on-aws-monitor-20261201-020000"
    configured = config.processing.pipelines["monitoring"]
    # The launcher's request, with the window after the pipeline name and its configured arguments.
    assert job["AppSpecification"]["ContainerEntrypoint"] == list(config.processing.entrypoint)
    assert job["AppSpecification"]["ContainerArguments"] == [
        "monitoring", *configured.arguments,
        "--params", "monitoring.window.end=2026-12-01T02:00:00Z,monitoring.window.hours=24"]
    assert job["AppSpecification"]["ImageUri"] == IMAGE_URI
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}
    assert {name: inputs[name] for name in configured.inputs} == {k: v.s3_uri for k, v in configured.inputs.items()}
    if configured.model_input:
        assert inputs[configured.model_input] == f"s3://{BUCKET}/{MODEL_KEY}"
    # Each window's reports are kept: every output below the job's name.
    outputs = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in job["ProcessingOutputConfig"]["Outputs"]}
    assert outputs == {k: f"{v.s3_uri.rstrip('/')}/{name}" for k, v in configured.outputs.items()}


def test_a_redelivered_event_starts_no_second_job_and_the_next_window_does(config, data_bucket: str) -> None:
    first = handle_monitoring_schedule(sample_event("scheduled_event"), config, DAILY, IMAGE_URI, clients())
    again = handle_monitoring_schedule(sample_event("scheduled_event"), config, DAILY, IMAGE_URI, clients())
    next_day = handle_monitoring_schedule(scheduled_at("2026-12-02T02:00:00Z"), config, DAILY, IMAGE_URI, clients())

    assert (first["status"], again["status"], next_day["status"]) == ("started", "exists", "started")
    assert again["job"] == first["job"] != next_day["job"]
    assert sorted(j["ProcessingJobName"] for j in processing_jobs()) == sorted([first["job"], next_day["job"]])
    # Back-to-back windows: each ends where the next one's period begins.
    ends = [datetime.fromisoformat(o["window_end"]) for o in (first, next_day)]
    assert ends[1] - ends[0] == timedelta(hours=DAILY.window_hours)


def test_the_job_name_follows_the_scheduled_time_in_utc(config) -> None:
    when = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert monitoring_job_name(config, when) == "ml-on-aws-monitor-20261201-030000"
    assert scheduled_time({"time": "2026-12-01T04:00:00+01:00"}) == when  # the same instant
    assert scheduled_time({"time": "2026-12-01T03:00:00"}) == when  # no offset: UTC, as EventBridge writes it


@pytest.mark.parametrize(("event", "reason"), [
    ({"detail-type": "Object Created", "time": "2026-12-01T02:00:00Z"}, "is not a Scheduled Event"),
    ({"detail-type": "Scheduled Event"}, "is not an ISO-8601 time"),
    ({"time": "yesterday"}, "is not an ISO-8601 time"),
    ("text", "not a JSON object"),
])
def test_events_without_a_scheduled_time_are_ignored(event, reason: str, config, data_bucket: str) -> None:
    outcome = handle_monitoring_schedule(event, config, DAILY, IMAGE_URI, clients())
    assert outcome["status"] == "ignored" and reason in outcome["reason"]
    assert processing_jobs() == []


def test_a_manual_run_names_its_time(config, data_bucket: str) -> None:
    outcome = handle_monitoring_schedule({"time": "2026-12-01T12:00:00Z"}, config, DAILY, IMAGE_URI, clients())
    assert outcome["job"] == "ml-on-aws-monitor-20261201-120000"


def test_an_unconfigured_pipeline_fails_so_the_event_reaches_the_failed_events_queue(config, data_bucket: str) -> None:
    settings = MonitoringSettings(pipeline="monitorin", window_hours=24)
    with pytest.raises(ConfigurationError, match=r"processing.pipelines.monitorin is not configured .*monitoring"):
        handle_monitoring_schedule(sample_event("scheduled_event"), config, settings, IMAGE_URI, clients())
    assert processing_jobs() == []


@pytest.mark.parametrize(("variables", "expected"), [
    ({}, MonitoringSettings("monitoring", 24)),
    ({"MONITORING_PIPELINE": "live", "MONITORING_WINDOW_HOURS": "6"}, MonitoringSettings("live", 6)),
])
def test_settings_come_from_the_functions_environment(variables, expected) -> None:
    assert MonitoringSettings.from_environment(variables) == expected


@pytest.mark.parametrize("hours", ["0", "", "1.5", "-2"])
def test_a_window_that_is_not_whole_hours_is_refused(hours: str) -> None:
    with pytest.raises(ValueError, match=f"MONITORING_WINDOW_HOURS='{re.escape(hours)}' is not a whole number of hours"):
        MonitoringSettings.from_environment({"MONITORING_WINDOW_HOURS": hours})


# ---------------------------------------------------------------- "jobs started" on the dashboard


def filter_matches(pattern: str, message: str) -> bool:
    """CloudWatch Logs' rule for a pattern of quoted terms: the event contains every term (case-sensitive)."""
    terms = re.findall(r'"([^"]*)"', pattern)
    assert terms and re.fullmatch(r'("[^"]*"\s*)+', pattern), f"not a pattern of quoted terms: {pattern}"
    return all(term in message for term in terms)


@pytest.fixture(scope="module")
def filter_patterns() -> dict[str, str]:
    template, problems = decode_str(TEMPLATE_PATH.read_text())
    assert not problems
    return {r["Properties"]["LogGroupName"]["Ref"]: r["Properties"]["FilterPattern"]
            for r in template["Resources"].values() if r["Type"] == "AWS::Logs::MetricFilter"}


def logged(caplog: pytest.LogCaptureFixture, call) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ml_on_aws.lambda_runtime"):
        call()
    return [record.getMessage() for record in caplog.records]


def test_each_functions_metric_filter_counts_the_jobs_it_started_and_nothing_else(
        config, data_bucket: str, filter_patterns: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    arrival = ArrivalSettings(prefix=f"{PREFIX}/data/new_data/", suffix=".csv", job="processing", pipeline="inference")
    calls = {
        "MonitoringScheduleLogGroup": lambda: handle_monitoring_schedule(
            sample_event("scheduled_event"), config, DAILY, IMAGE_URI, clients()),
        "RetrainingLogGroup": lambda: handle_retraining(sample_event("alarm_state_change"), config, IMAGE_URI, clients()),
        "DataArrivalLogGroup": lambda: handle_data_arrival(
            sample_event("s3_notification_put"), config, arrival, IMAGE_URI, clients()),
    }
    assert set(filter_patterns) == set(calls)
    for group, call in calls.items():
        first, again = logged(caplog, call), logged(caplog, call)  # started, then found existing
        pattern = filter_patterns[group]
        assert len([line for line in first if filter_matches(pattern, line)]) == 1, (group, first)
        assert [line for line in again if filter_matches(pattern, line)] == [], (group, again)


# ---------------------------------------------------------------- least privilege


def test_the_monitoring_role_may_start_its_job_and_nothing_else(config, aws_account: str) -> None:
    """The role of the deployed stack, assumed as Lambda would, against moto enforcing IAM."""
    from tests.scenario.aws_loop.emulator import patch_iam, patch_sagemaker_resource_arns

    # Role policies kept as IAM keeps them, SageMaker checked on the job's ARN (emulator.py says why).
    patch_iam()
    patch_sagemaker_resource_arns()
    cloudformation = client("cloudformation")
    deploy(cloudformation, "ml-on-aws-iam", TEMPLATE_PATH.read_text(),
           {"BucketName": BUCKET, "DataPrefix": PREFIX, "MonitoringPeriodHours": "24"}, poll_seconds=1)
    client("s3").put_object(Bucket=BUCKET, Key=MODEL_KEY, Body=b"model")
    [role_name] = [r["PhysicalResourceId"] for r in cloudformation.list_stack_resources(StackName="ml-on-aws-iam")[
        "StackResourceSummaries"] if r["LogicalResourceId"] == "MonitoringScheduleFunctionRole"]
    role = client("iam").get_role(RoleName=role_name)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    credentials = client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="monitoring-schedule")["Credentials"]

    def as_role(service: str):
        import boto3

        return boto3.client(service, region_name=REGION, aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"])

    sagemaker, s3, cloudwatch = as_role("sagemaker"), as_role("s3"), as_role("cloudwatch")
    training = rq.training_job_request(config, image_uri=IMAGE_URI, job_name="ml-on-aws-monitor-train", commit="abc")
    other_job = rq.processing_job_request(config, "inference", image_uri=IMAGE_URI, job_name="ml-on-aws-new-0123",
                                          commit="abc", model_data_url=f"s3://{BUCKET}/{MODEL_KEY}")
    overreach = {
        "a training job": lambda: sagemaker.create_training_job(**training),
        "another kind of processing job": lambda: sagemaker.create_processing_job(**other_job),
        "reading another job": lambda: sagemaker.describe_processing_job(ProcessingJobName="ml-on-aws-new-0123"),
        "listing jobs": lambda: sagemaker.list_processing_jobs(),
        "reading the model": lambda: s3.get_object(Bucket=BUCKET, Key=MODEL_KEY),
        "writing data": lambda: s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/01_raw/new.csv", Body=b"x"),
        "publishing metrics": lambda: cloudwatch.put_metric_data(
            Namespace="MlOnAws", MetricData=[{"MetricName": "live_roc_auc", "Value": 1.0}]),
    }
    refused = {}
    with moto_enforces_credentials(aws_account):
        outcome = handle_monitoring_schedule(sample_event("scheduled_event"), config, DAILY, IMAGE_URI,
                                             Clients(sagemaker=sagemaker, s3=s3))
        for what, call in overreach.items():
            try:
                call()
                refused[what] = "allowed"
            except ClientError as error:
                # moto answers the JSON services' denials in XML: botocore's code is then "403".
                refused[what] = f'{error.response["ResponseMetadata"]["HTTPStatusCode"]} {error.response["Error"]}'

    assert outcome["status"] == "started", outcome
    assert {what: why for what, why in refused.items() if not (why.startswith("403 ") and "AccessDenied" in why)} == {}
    [job] = processing_jobs()
    assert job["ProcessingJobName"] == outcome["job"]
    model_input = config.processing.pipelines["monitoring"].model_input
    if model_input:  # found by listing the bucket, as the role may
        inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}
        assert inputs[model_input] == f"s3://{BUCKET}/{MODEL_KEY}"


def test_deploy_stack_refuses_a_schedule_whose_pipeline_is_not_configured(packaged_config: dict) -> None:
    from ml_on_aws.control.aws_cli import check_monitoring_schedule

    configured = with_monitoring(packaged_config)
    missing = with_monitoring(packaged_config)
    del missing["processing"]["pipelines"]["monitoring"]
    check_monitoring_schedule(configured, {"MonitoringPeriodHours": "24"}, "aws")
    check_monitoring_schedule(missing, {"MonitoringPeriodHours": ""}, "aws")  # no schedule, nothing to start
    with pytest.raises(ConfigurationError, match=r"processing.pipelines.monitoring is not in sagemaker.yml of --env aws"):
        check_monitoring_schedule(missing, {"MonitoringPeriodHours": "24"}, "aws")
    with pytest.raises(ConfigurationError, match=r"pipeline 'live'"):
        check_monitoring_schedule(configured, {"MonitoringPeriodHours": "24", "MonitoringPipeline": "live"}, "aws")
