"""AWS over real HTTP for the tests: moto's server on 127.0.0.1 (tests/conftest.py), emptied per test."""

from __future__ import annotations

import copy
import json
import urllib.request
from pathlib import Path

import boto3
import pytest

from ml_on_aws.lambda_runtime.jobs import Clients

ROOT = Path(__file__).resolve().parents[3]
REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture
def aws_account(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty emulated account as the endpoint of every boto3 client in this process."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    return moto_endpoint


def client(service: str):
    """A boto3 client for the emulated account (``aws_account`` sets the endpoint)."""
    return boto3.client(service, region_name=REGION)


def clients() -> Clients:
    return Clients(sagemaker=client("sagemaker"), s3=client("s3"))


def processing_jobs() -> list[dict]:
    sagemaker = client("sagemaker")
    return [sagemaker.describe_processing_job(ProcessingJobName=j["ProcessingJobName"])
            for j in sagemaker.list_processing_jobs()["ProcessingJobSummaries"]]


EVENTS = Path(__file__).parent
BUCKET = "ml-on-aws-events"  # the bucket of the sample events
PREFIX = "project"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ml-on-aws-sagemaker"
IMAGE_URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ml-on-aws:0123456789abcdef"
# What the stack gives the package build: the variables conf/aws/sagemaker.yml reads.
STACK_VARIABLES = {
    "AWS_REGION": REGION,
    "ML_ON_AWS_BUCKET": BUCKET,
    "ML_ON_AWS_PREFIX": PREFIX,
    "ML_ON_AWS_SAGEMAKER_ROLE_ARN": ROLE_ARN,
}


# processing.pipelines.monitoring as conf/aws/sagemaker.yml configures it (issue 18): a stand-in for
# the tests of the monitoring schedule while that file has none; once it has one, that one is used.
MONITORING_JOB = {
    "instance_type": "ml.m5.xlarge",
    "instance_count": 1,
    "volume_size_gb": 30,
    "max_runtime_seconds": 3600,
    "inputs": {"captured_data": {"s3_uri": f"s3://{BUCKET}/{PREFIX}/01_raw/captured", "local_path": None,
                                 "distribution": "FullyReplicated"}},
    "outputs": {"monitoring": {"s3_uri": f"s3://{BUCKET}/{PREFIX}/sagemaker/monitoring", "local_path": None}},
    "arguments": [],
    "model_input": "model",
}


def with_monitoring(config: dict) -> dict:
    """The packaged configuration with a ``monitoring`` processing pipeline (see MONITORING_JOB)."""
    copied = copy.deepcopy(config)
    copied["processing"]["pipelines"].setdefault("monitoring", MONITORING_JOB)
    return copied


def sample_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture(scope="session", autouse=True)
def _project_settings() -> None:
    """The project's config loader (settings.py), as `kedro` sets it up."""
    from kedro.framework.project import configure_project

    configure_project("ml_on_aws")


@pytest.fixture(scope="session")
def packaged_config() -> dict:
    """conf/aws/sagemaker.yml resolved for the test stack, as the Lambda package carries it."""
    from ml_on_aws.control.lambda_package import resolved_config

    return resolved_config(ROOT, "aws", STACK_VARIABLES)


@pytest.fixture
def config(packaged_config: dict):
    from ml_on_aws.sagemaker.config import parse_config

    return parse_config(packaged_config)


@pytest.fixture
def data_bucket(aws_account: str) -> str:
    """The bucket of the sample events, with a trained model under the training output."""
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/sagemaker/training/ml-on-aws-train-1/output/model.tar.gz", Body=b"model")
    return BUCKET



def moto_eventbridge_as_aws_sends_it(body: str, uploaded_keys: set[str]) -> str:
    """TEST ADAPTER for a moto deviation: an S3 EventBridge event that moto delivered (a queue
    message's body), with ``detail.object.key`` encoded as AWS's own reader of that event expects
    it: Powertools for AWS Lambda decodes it with ``unquote_plus`` (``_from_eventbridge`` in
    lambda_runtime/events.py cites the sources), so it is ``quote_plus``-encoded here.

    moto 5.2.5 puts the raw key in this event (``a+b c%41.csv`` arrives as ``a+b c%41.csv``),
    while its S3 -> SQS and S3 -> SNS notifications encode it. The key must be one of the keys
    the test uploaded, raw: a moto that starts encoding fails here instead of being encoded twice.
    """
    from urllib.parse import quote_plus

    event = json.loads(body)
    obj = event["detail"]["object"]
    assert obj["key"] in uploaded_keys, f"moto sent {obj['key']!r}, not a raw uploaded key: does moto encode now?"
    obj["key"] = quote_plus(obj["key"])
    return json.dumps(event)
