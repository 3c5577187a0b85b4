"""Object keys with ``+``, spaces and ``%`` reach the job exactly as uploaded, by every delivery path.

S3 notifications (S3 -> Lambda, S3 -> SQS, S3 -> SNS) carry the key URL-encoded, as AWS documents;
EventBridge ``Object Created`` events are read the way AWS's own reader (Powertools) reads them,
also ``unquote_plus``; ``_from_eventbridge`` in lambda_runtime/events.py cites both. The object is
uploaded to moto's S3 and every event is built from what moto delivered for that upload, except
that moto's EventBridge event carries the raw key, where AWS's reader expects it encoded: that
event goes through ``moto_eventbridge_as_aws_sends_it`` (conftest.py), which says so.
"""

from __future__ import annotations

import copy
import json
from urllib.parse import quote_plus

import pytest

from ml_on_aws.lambda_runtime.handlers import (
    ArrivalSettings,
    Clients,
    handle_data_arrival,
    objects_in,
)
from tests.aws.events.conftest import (
    BUCKET,
    IMAGE_URI,
    client,
    moto_eventbridge_as_aws_sends_it,
    sample_event,
)

KEY = "01_raw/new_data/a+b c%41.csv"  # '+', ' ' and '%': each one decodes wrongly if decoded once too often or not at all
ARRIVAL = ArrivalSettings(prefix="01_raw/new_data/", suffix=".csv", job="processing", pipeline="inference")


def _queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _bodies(sqs, url: str) -> list[str]:
    """The bodies of the upload's messages (the s3:TestEvent sent on configuration is dropped)."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    bodies = [m["Body"] for m in messages if "s3:TestEvent" not in m["Body"]]
    assert bodies, f"moto delivered nothing for the upload to {url}"
    return bodies


def _sqs_event(bodies: list[str]) -> dict:
    """The queue's messages as Lambda's SQS event source hands them over."""
    return {"Records": [{"messageId": f"m{i}", "body": body, "eventSource": "aws:sqs"} for i, body in enumerate(bodies)]}


@pytest.fixture
def delivered(data_bucket: str) -> dict[str, list[str]]:
    """Upload KEY once with the bucket notifying a queue, a topic (subscribed by a queue) and
    EventBridge (a rule targeting a queue); the message bodies moto delivered to each."""
    sqs, sns, s3, events = client("sqs"), client("sns"), client("s3"), client("events")
    direct_url, direct_arn = _queue(sqs, "s3-direct")
    topic_url, topic_queue_arn = _queue(sqs, "s3-sns")
    rule_url, rule_queue_arn = _queue(sqs, "s3-eventbridge")
    topic = sns.create_topic(Name="new-data")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=topic_queue_arn)
    events.put_rule(Name="data-arrival", EventPattern=json.dumps(
        {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [BUCKET]}}}))
    events.put_targets(Rule="data-arrival", Targets=[{"Id": "queue", "Arn": rule_queue_arn}])
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": direct_arn, "Events": ["s3:ObjectCreated:*"]}],
        "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}],
        "EventBridgeConfiguration": {},
    })
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"a,b\n1,2\n")
    return {"sqs": _bodies(sqs, direct_url), "sns": _bodies(sqs, topic_url), "eventbridge": _bodies(sqs, rule_url)}


def _lambda_event(path: str, delivered: dict[str, list[str]]) -> dict:
    """The event Lambda gets on ``path``, made from moto's messages for the upload."""
    if path == "S3 -> Lambda":  # S3 invokes the function with the notification itself
        return json.loads(delivered["sqs"][0])
    if path == "S3 -> SQS -> Lambda":
        return _sqs_event(delivered["sqs"])
    if path == "S3 -> SNS -> Lambda":  # the topic invokes the function: Lambda's SNS event
        notification = json.loads(delivered["sns"][0])
        return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": notification}]}
    if path == "S3 -> SNS -> SQS -> Lambda":
        return _sqs_event(delivered["sns"])
    adapted = [moto_eventbridge_as_aws_sends_it(body, {KEY}) for body in delivered["eventbridge"]]
    if path == "S3 -> EventBridge -> Lambda":  # the rule's target is the function
        return json.loads(adapted[0])
    assert path == "S3 -> EventBridge -> SQS -> Lambda"
    return _sqs_event(adapted)


PATHS = ["S3 -> Lambda", "S3 -> SQS -> Lambda", "S3 -> SNS -> Lambda", "S3 -> SNS -> SQS -> Lambda",
         "S3 -> EventBridge -> Lambda", "S3 -> EventBridge -> SQS -> Lambda"]


@pytest.mark.parametrize("path", PATHS)
def test_the_job_reads_exactly_the_uploaded_object(path: str, delivered, config) -> None:
    sagemaker, s3 = client("sagemaker"), client("s3")

    outcome = handle_data_arrival(_lambda_event(path, delivered), config, ARRIVAL, IMAGE_URI, Clients(sagemaker=sagemaker, s3=s3))

    assert outcome.get("batchItemFailures", []) == [] and outcome["failed"] == [] and outcome["ignored"] == []
    [summary] = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    assert outcome["started"] == [summary["ProcessingJobName"]]
    job = sagemaker.describe_processing_job(ProcessingJobName=summary["ProcessingJobName"])
    uri = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}["new_data"]
    assert uri == f"s3://{BUCKET}/{KEY}"
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"a,b\n1,2\n"  # the uploaded object itself


def test_moto_sends_eventbridge_keys_raw_and_notifications_encoded(delivered) -> None:
    """Why the adapter exists (moto 5.2.5): if this fails, moto changed and the adapter must go."""
    [notification] = json.loads(delivered["sqs"][0])["Records"]
    assert notification["s3"]["object"]["key"] == quote_plus(KEY)
    assert {json.loads(body)["detail"]["object"]["key"] for body in delivered["eventbridge"]} == {KEY}


# ---------------------------------------------------------------- the sample events' shapes

ENCODED = quote_plus(KEY, safe="/")  # as S3 writes it: form-encoded, '/' kept


def _with_key(sample: str, encoded: str) -> dict:
    event = copy.deepcopy(sample_event(sample))
    if sample == "eventbridge_object_created":
        event["detail"]["object"]["key"] = encoded
    elif sample == "s3_notification_put":
        event["Records"][0]["s3"]["object"]["key"] = encoded
    elif sample == "sns_notification":
        message = json.loads(event["Records"][0]["Sns"]["Message"])
        message["Records"][0]["s3"]["object"]["key"] = encoded
        event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    else:  # sqs_batch: the first message is an S3 notification
        body = json.loads(event["Records"][0]["body"])
        body["Records"][0]["s3"]["object"]["key"] = encoded
        event = {"Records": [{**event["Records"][0], "body": json.dumps(body)}]}
    return event


@pytest.mark.parametrize("sample", ["s3_notification_put", "sqs_batch", "sns_notification", "eventbridge_object_created"])
def test_an_encoded_key_in_each_sample_shape_is_the_uploaded_key(sample: str) -> None:
    event = _with_key(sample, ENCODED)
    message = event["Records"][0]["body"] if sample == "sqs_batch" else event
    [obj] = objects_in(message)
    assert obj.key == KEY
    assert obj.uri == f"s3://{obj.bucket}/{KEY}"
