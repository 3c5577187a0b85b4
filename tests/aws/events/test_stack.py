"""infra/stack.yml deployed on moto's CloudFormation over HTTP.

moto's CloudFormation skips AWS::CloudWatch::Alarm, AWS::S3::BucketPolicy and
AWS::SNS::Subscription without error, and ignores the bucket's public access block, versioning
notification settings and the repository's scan-on-push: those are checked on the template itself (tests/infra). Here we
assert what moto does create: the bucket, the repository, the roles, the log groups, the dashboard
and, once the code is there, the functions and the EventBridge rules.
"""

from __future__ import annotations

import json

from ml_on_aws.control.stack import deploy, stack_status
from tests.aws.events.conftest import client
from tests.infra.test_template import TEMPLATE_PATH

STACK = "ml-on-aws-test"


def test_first_phase_creates_storage_roles_and_logs_but_no_functions(aws_account: str) -> None:
    cloudformation = client("cloudformation")
    lines: list[str] = []
    outputs = deploy(cloudformation, STACK, TEMPLATE_PATH.read_text(),
                     {"ProjectName": "mlaws", "LogRetentionDays": "14"}, echo=lines.append, poll_seconds=1)

    assert lines[0] == f"Creating stack {STACK} ..." and lines[-1] == f"Stack {STACK}: CREATE_COMPLETE"
    assert set(outputs) == {"BucketName", "DataPrefix", "RepositoryUri", "SageMakerExecutionRoleArn",
                            "AlertTopicArn", "MetricNamespace", "FailedEventsQueueUrl", "DashboardUrl"}
    assert outputs["DashboardUrl"].endswith("/cloudwatch/home?region=eu-west-1#dashboards/dashboard/mlaws")
    body = json.loads(client("cloudwatch").get_dashboard(DashboardName="mlaws")["DashboardBody"])
    assert {widget["type"] for widget in body["widgets"]} == {"text", "metric", "alarm"}
    s3 = client("s3")
    s3.head_bucket(Bucket=outputs["BucketName"])
    rules = s3.get_bucket_encryption(Bucket=outputs["BucketName"])["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [repository] = client("ecr").describe_repositories(repositoryNames=["ml-on-aws"])["repositories"]
    assert repository["repositoryUri"] == outputs["RepositoryUri"]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    role = client("iam").get_role(RoleName=outputs["SageMakerExecutionRoleArn"].rsplit("/", 1)[1])["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    groups = {g["logGroupName"]: g.get("retentionInDays") for g in client("logs").describe_log_groups()["logGroups"]}
    assert groups == {"/aws/lambda/mlaws-data-arrival": 14, "/aws/lambda/mlaws-retraining": 14}
    assert client("lambda").list_functions()["Functions"] == []
    assert client("events").list_rules()["Rules"] == []


def test_an_unchanged_stack_is_reported_up_to_date(aws_account: str) -> None:
    cloudformation = client("cloudformation")
    first = deploy(cloudformation, STACK, TEMPLATE_PATH.read_text(), {}, poll_seconds=1)
    lines: list[str] = []
    second = deploy(cloudformation, STACK, TEMPLATE_PATH.read_text(), {}, echo=lines.append, poll_seconds=1)
    assert second == first
    assert stack_status(cloudformation, STACK)["StackStatus"] in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}



def test_the_stack_takes_the_repository_push_image_created_first_and_keeps_its_own_later(aws_account: str) -> None:
    """The documented order: `push-image` (which creates the repository), then the stack."""
    from ml_on_aws.control.image import ensure_repository
    from ml_on_aws.control.stack import existing_repository
    from ml_on_aws.sagemaker.config import ImageConfig

    cloudformation, ecr = client("cloudformation"), client("ecr")
    pushed_to = ensure_repository(ecr, ImageConfig())
    assert existing_repository(cloudformation, ecr, STACK, "ml-on-aws") == "true"

    outputs = deploy(cloudformation, STACK, TEMPLATE_PATH.read_text(), {"ExistingRepository": "true"}, poll_seconds=1)

    assert stack_status(cloudformation, STACK)["StackStatus"] == "CREATE_COMPLETE"
    assert outputs["RepositoryUri"] == pushed_to
    assert [r["repositoryUri"] for r in ecr.describe_repositories()["repositories"]] == [pushed_to]
    # A stack that made the repository itself keeps owning it on later deployments.
    other = f"{STACK}-own"
    deploy(cloudformation, other, TEMPLATE_PATH.read_text(),
           {"ProjectName": "other", "RepositoryName": "other-image", "ExistingRepository": "false"}, poll_seconds=1)
    assert existing_repository(cloudformation, ecr, other, "other-image") == "false"
    assert existing_repository(cloudformation, ecr, STACK, "absent") == "false"
