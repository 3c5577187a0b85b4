"""The Lambda handlers called as plain Python with real event shapes, against moto's server.

moto cannot run Lambda code (it needs Docker images from the internet) and never evaluates
CloudWatch alarms, so the functions are called here directly: with the sample events in this
folder, with the messages moto really delivers for an upload (S3 -> SQS and S3 -> EventBridge ->
SQS), and with a synthetic alarm event for retraining. SageMaker in moto records the jobs.
"""

from __future__ import annotations

import copy
import json

import pytest

from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.lambda_runtime.handlers import (
    ArrivalSettings,
    Clients,
    handle_data_arrival,
    handle_retraining,
)
from tests.aws.events.conftest import (
    ACCOUNT,
    BUCKET,
    IMAGE_URI,
    PREFIX,
    REGION,
    ROLE_ARN,
    client,
    clients,
    moto_eventbridge_as_aws_sends_it,
    processing_jobs,
    sample_event,
)

NEW_KEY = f"{PREFIX}/data/new_data/batch of 2026-11-28=monday.csv"  # the sample events' key, decoded
SCORING = ArrivalSettings(prefix=f"{PREFIX}/data/new_data/", suffix=".csv", job="processing", pipeline="inference")
TRAINING = ArrivalSettings(prefix=f"{PREFIX}/data/new_data/", suffix=".csv", job="training")


def training_jobs() -> list[dict]:
    sagemaker = client("sagemaker")
    return [sagemaker.describe_training_job(TrainingJobName=j["TrainingJobName"])
            for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]]


# sns_notification: a topic that S3 notifies invokes the function directly (Lambda's SNS event).
@pytest.mark.parametrize("sample", ["s3_notification_put", "eventbridge_object_created", "sns_notification"])
def test_a_new_object_starts_one_scoring_job_on_it(sample: str, config, data_bucket: str) -> None:
    outcome = handle_data_arrival(sample_event(sample), config, SCORING, IMAGE_URI, clients())

    [job] = processing_jobs()
    assert outcome["started"] == [job["ProcessingJobName"]] and outcome["failed"] == []
    assert job["ProcessingJobName"].startswith("ml-on-aws-new-")
    assert job["RoleArn"] == ROLE_ARN
    assert job["AppSpecification"]["ImageUri"] == IMAGE_URI
    assert job["AppSpecification"]["ContainerArguments"][0] == "inference"
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    assert inputs["new_data"]["S3Uri"] == f"s3://{BUCKET}/{NEW_KEY}"
    # As configured, so several instances never score the same rows twice.
    assert inputs["new_data"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert inputs["model"]["S3Uri"] == f"s3://{BUCKET}/{PREFIX}/sagemaker/training/ml-on-aws-train-1/output/model.tar.gz"
    [output] = job["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == f"s3://{BUCKET}/{PREFIX}/sagemaker/predictions/{job['ProcessingJobName']}"


def test_the_same_object_delivered_by_every_route_starts_one_job(config, data_bucket: str) -> None:
    """Direct notification, EventBridge and SQS name the same object version: one job in all."""
    results = [handle_data_arrival(sample_event(name), config, SCORING, IMAGE_URI, clients())
               for name in ("s3_notification_put", "eventbridge_object_created", "sqs_batch", "s3_notification_put")]

    [job] = processing_jobs()
    assert results[0]["started"] == [job["ProcessingJobName"]]
    assert all(r["existing"] == [job["ProcessingJobName"]] and r["started"] == [] for r in results[1:])


def test_a_new_version_of_the_object_is_new_data(config, data_bucket: str) -> None:
    event = sample_event("s3_notification_put")
    later = copy.deepcopy(event)
    later["Records"][0]["s3"]["object"]["versionId"] = "a-later-version"
    for each in (event, later):
        handle_data_arrival(each, config, SCORING, IMAGE_URI, clients())
    assert len(processing_jobs()) == 2


def test_training_on_arrival_replaces_the_training_channel(config, data_bucket: str) -> None:
    outcome = handle_data_arrival(sample_event("eventbridge_object_created"), config, TRAINING, IMAGE_URI, clients())

    [job] = training_jobs()
    assert outcome["started"] == [job["TrainingJobName"]]
    [channel] = job["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/{NEW_KEY}"
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/{PREFIX}/sagemaker/training"
    assert processing_jobs() == []


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        (ArrivalSettings(prefix=f"{PREFIX}/elsewhere/", job="processing"), "is not under the prefix"),
        (ArrivalSettings(prefix=PREFIX, suffix=".parquet", job="processing"), "does not end with '.parquet'"),
    ],
)
def test_objects_outside_the_filters_are_ignored_with_the_reason(settings, reason: str, config, data_bucket: str) -> None:
    outcome = handle_data_arrival(sample_event("s3_notification_put"), config, settings, IMAGE_URI, clients())
    assert outcome["started"] == [] and reason in outcome["ignored"][0]
    assert processing_jobs() == []


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (sample_event("s3_notification_removed"), "ObjectRemoved:Delete is not an ObjectCreated event"),
        ({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET}}}]}, "no object key"),
        ({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"object": {"key": "a.csv"}}}]}, "no bucket"),
        ({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}}, "is not an S3 Object Created event"),
        ({"hello": "world"}, "neither an S3 notification nor an EventBridge event"),
        ([1, 2], "not a JSON object"),
    ],
)
def test_unrelated_and_malformed_events_are_ignored_not_raised(event, reason: str, config, data_bucket: str) -> None:
    outcome = handle_data_arrival(event, config, SCORING, IMAGE_URI, clients())
    assert outcome["started"] == [] and outcome["failed"] == []
    assert reason in outcome["ignored"][0]


def test_an_sqs_batch_reports_only_the_messages_to_deliver_again(config, data_bucket: str, monkeypatch) -> None:
    """A good message starts its job, the test event and the broken body are dropped with a
    reason, and a message whose job fails (here: no such processing pipeline) is the only
    batch item failure."""
    event = sample_event("sqs_batch")
    failing = copy.deepcopy(event["Records"][0])
    failing["messageId"] = "fails-once"
    body = json.loads(failing["body"])
    body["Records"][0]["s3"]["object"]["versionId"] = "another-version"
    failing["body"] = json.dumps(body)
    event["Records"].append(failing)
    calls = {"n": 0}
    sagemaker = client("sagemaker")
    create = sagemaker.create_processing_job

    def fail_second_create(**request):
        calls["n"] += 1
        if calls["n"] == 2:
            raise sagemaker.exceptions.ResourceLimitExceeded({"Error": {"Code": "ResourceLimitExceeded", "Message": "quota"}}, "CreateProcessingJob")
        return create(**request)

    monkeypatch.setattr(sagemaker, "create_processing_job", fail_second_create)
    outcome = handle_data_arrival(event, config, SCORING, IMAGE_URI, Clients(sagemaker=sagemaker, s3=client("s3")))

    assert outcome["batchItemFailures"] == [{"itemIdentifier": "fails-once"}]
    assert len(outcome["started"]) == 1 and len(processing_jobs()) == 1
    assert [reason.split(":")[0] for reason in outcome["ignored"]] == [
        "message 2e1424d4-f796-459a-8184-9c92662be6da", "message c80e8021-a70a-42c7-a470-796e1186f753"]
    assert "s3:TestEvent" in outcome["ignored"][0] and "not JSON" in outcome["ignored"][1]


def test_a_failing_direct_event_raises_so_lambda_retries(config, aws_account: str) -> None:
    """No trained model yet: the scoring job cannot be given one; the error reaches Lambda."""
    client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    with pytest.raises(ConfigurationError, match="no trained model.tar.gz"):
        handle_data_arrival(sample_event("s3_notification_put"), config, SCORING, IMAGE_URI, clients())


# ---------------------------------------------------------------- uploads delivered by moto


def _queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _received(sqs, url: str) -> dict:
    """The queue's messages as the Lambda SQS event source hands them over."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    return {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                         "eventSource": "aws:sqs", "awsRegion": REGION} for m in messages]}


def test_an_upload_notified_through_sqs_starts_exactly_one_job(config, data_bucket: str) -> None:
    sqs, s3 = client("sqs"), client("s3")
    url, arn = _queue(sqs, "new-data")
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=BUCKET, Key=NEW_KEY, Body=b"a,b\n1,2\n")

    event = _received(sqs, url)
    outcome = handle_data_arrival(event, config, SCORING, IMAGE_URI, clients())
    again = handle_data_arrival(event, config, SCORING, IMAGE_URI, clients())  # SQS delivers at least once

    [job] = processing_jobs()
    assert outcome["batchItemFailures"] == [] and outcome["started"] == [job["ProcessingJobName"]]
    assert again["existing"] == [job["ProcessingJobName"]]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}
    assert inputs["new_data"] == f"s3://{BUCKET}/{NEW_KEY}"


def test_an_upload_through_eventbridge_and_the_stacks_rule_starts_exactly_one_job(config, data_bucket: str) -> None:
    """The rule's pattern is the template's (bucket and Object Created); its target here is a
    queue, read as Lambda's SQS event source would. moto puts the raw key in the event, where
    AWS's reader expects it URL-encoded: the test adapter encodes it (see conftest.py)."""
    sqs, s3, events = client("sqs"), client("s3"), client("events")
    url, arn = _queue(sqs, "new-data-events")
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [BUCKET]}}}
    events.put_rule(Name="data-arrival", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="data-arrival", Targets=[{"Id": "queue", "Arn": arn}])
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}})
    unrelated = f"{PREFIX}/reports/unrelated.json"
    s3.put_object(Bucket=BUCKET, Key=NEW_KEY, Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=BUCKET, Key=unrelated, Body=b"{}")
    event = _received(sqs, url)
    for record in event["Records"]:
        record["body"] = moto_eventbridge_as_aws_sends_it(record["body"], {NEW_KEY, unrelated})

    outcome = handle_data_arrival(event, config, SCORING, IMAGE_URI, clients())

    [job] = processing_jobs()
    assert outcome["started"] == [job["ProcessingJobName"]]
    assert "is not under the prefix" in outcome["ignored"][0]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}
    assert inputs["new_data"] == f"s3://{BUCKET}/{NEW_KEY}"


# ---------------------------------------------------------------- retraining


@pytest.mark.parametrize("sample", ["alarm_state_change", "alarm_action"])
def test_an_alarm_starts_exactly_one_retraining(sample: str, config, aws_account: str) -> None:
    first = handle_retraining(sample_event(sample), config, IMAGE_URI, clients())
    redelivered = handle_retraining(sample_event(sample), config, IMAGE_URI, clients())

    [job] = training_jobs()
    assert first == {"status": "started", "job": job["TrainingJobName"], "alarm": first["alarm"]}
    assert redelivered["status"] == "exists"
    assert job["TrainingJobName"].startswith("ml-on-aws-retrain-")
    assert job["RoleArn"] == ROLE_ARN and job["AlgorithmSpecification"]["TrainingImage"] == IMAGE_URI
    [channel] = job["InputDataConfig"]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == config.training.channels["train"].s3_uri


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_an_alarm_leaving_alarm_state_starts_nothing(state: str, config, aws_account: str) -> None:
    event = sample_event("alarm_state_change")
    event["detail"]["state"]["value"] = state
    outcome = handle_retraining(event, config, IMAGE_URI, clients())
    assert outcome["status"] == "ignored" and f"went to {state}" in outcome["reason"]
    assert training_jobs() == []


@pytest.mark.parametrize("event", [{"Records": []}, {"detail-type": "CloudWatch Alarm State Change", "detail": {}}, "text"])
def test_malformed_alarm_events_are_ignored(event, config, aws_account: str) -> None:
    assert handle_retraining(event, config, IMAGE_URI, clients())["status"] == "ignored"
    assert training_jobs() == []


def test_no_second_retraining_while_one_runs(config, aws_account: str) -> None:
    """moto completes every job at once; the first job is set back to InProgress in moto's
    backend (this process runs the server) to stand for a retraining that is still running."""
    from moto.backends import get_backend

    first = handle_retraining(sample_event("alarm_state_change"), config, IMAGE_URI, clients())
    get_backend("sagemaker")[ACCOUNT][REGION].training_jobs[first["job"]].training_job_status = "InProgress"

    second = handle_retraining(sample_event("alarm_action"), config, IMAGE_URI, clients())

    assert second["status"] == "skipped" and first["job"] in second["reason"]
    assert [j["TrainingJobName"] for j in training_jobs()] == [first["job"]]
