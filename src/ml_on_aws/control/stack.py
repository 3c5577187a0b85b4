"""Deploy ``infra/stack.yml`` with boto3's CloudFormation client, waiting for the result.

``deploy`` creates the stack or updates it (no changes is not an error) and returns its outputs;
on failure it raises :class:`StackError` with the events that say which resource failed and why.
``kedro aws deploy-stack`` (see :mod:`ml_on_aws.control.aws_cli`) runs it twice on a first deployment:
the functions' code lives in the stack's own bucket, so the bucket must exist before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, WaiterError

TEMPLATE = Path("infra") / "stack.yml"
# Only unnamed IAM roles: CAPABILITY_IAM, not CAPABILITY_NAMED_IAM.
CAPABILITIES = ("CAPABILITY_IAM",)
_FAILED = ("FAILED", "ROLLBACK")


class StackError(RuntimeError):
    """The stack did not reach a complete state; the message lists the failed resources."""


def stack_status(cloudformation: Any, stack_name: str) -> dict[str, Any] | None:
    """The stack's description, or None when there is none (or only a deleted one)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in exc.response["Error"].get("Message", ""):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def outputs(description: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}


def failure_reasons(cloudformation: Any, stack_name: str, limit: int = 10) -> list[str]:
    """``resource (type): reason`` of the newest failed events, newest first."""
    reasons = []
    for event in cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]:
        if event["ResourceStatus"].endswith("_FAILED"):
            reasons.append(
                f"{event['LogicalResourceId']} ({event['ResourceType']}): {event.get('ResourceStatusReason', 'no reason given')}"
            )
        if len(reasons) >= limit:
            break
    return reasons


def existing_repository(cloudformation: Any, ecr: Any, stack_name: str, repository: str) -> str:
    """The stack's ``ExistingRepository`` parameter: "true" when ``repository`` exists and the
    stack does not own it (``push-image`` created it, or an earlier stack kept it on deletion
    or rollback), so that the stack takes it instead of failing to create it again."""
    if stack_status(cloudformation, stack_name) is not None:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        resources = [r for page in pages for r in page["StackResourceSummaries"]]
        if any(r.get("LogicalResourceId") == "Repository" and r.get("PhysicalResourceId") == repository for r in resources):
            return "false"
    try:
        ecr.describe_repositories(repositoryNames=[repository])
    except ecr.exceptions.RepositoryNotFoundException:
        return "false"
    return "true"


def deploy(
    cloudformation: Any,
    stack_name: str,
    template_body: str,
    parameters: Mapping[str, str],
    *,
    echo: Callable[[str], None] = lambda _line: None,
    poll_seconds: int = 10,
    tags: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create or update ``stack_name`` and wait; the stack's outputs."""
    existing = stack_status(cloudformation, stack_name)
    if existing and existing["StackStatus"] == "ROLLBACK_COMPLETE":
        raise StackError(
            f"Stack {stack_name} failed to create earlier and is in ROLLBACK_COMPLETE; it cannot be updated. "
            f"Delete it (aws cloudformation delete-stack --stack-name {stack_name}) and deploy again."
        )
    request = {
        "StackName": stack_name,
        "TemplateBody": template_body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
        "Capabilities": list(CAPABILITIES),
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if existing is None:
        echo(f"Creating stack {stack_name} ...")
        cloudformation.create_stack(**request, OnFailure="ROLLBACK")
        waiter = "stack_create_complete"
    else:
        echo(f"Updating stack {stack_name} ({existing['StackStatus']}) ...")
        try:
            cloudformation.update_stack(**request)
        except ClientError as exc:
            if "No updates are to be performed" in exc.response["Error"].get("Message", ""):
                echo(f"Stack {stack_name} is up to date.")
                return outputs(existing)
            raise
        waiter = "stack_update_complete"
    try:
        cloudformation.get_waiter(waiter).wait(
            StackName=stack_name, WaiterConfig={"Delay": poll_seconds, "MaxAttempts": 3600 // poll_seconds}
        )
    except WaiterError:
        reasons = failure_reasons(cloudformation, stack_name)
        status = (stack_status(cloudformation, stack_name) or {}).get("StackStatus", "gone")
        raise StackError(
            f"Stack {stack_name} ended in {status}:\n  " + "\n  ".join(reasons or ["no failed resource reported"])
        ) from None
    description = stack_status(cloudformation, stack_name)
    if description is None or any(word in description["StackStatus"] for word in _FAILED):
        raise StackError(f"Stack {stack_name} ended in {description and description['StackStatus']}.")
    echo(f"Stack {stack_name}: {description['StackStatus']}")
    return outputs(description)


def deploy_with_functions(
    cloudformation: Any,
    s3: Any,
    stack_name: str,
    template_body: str,
    parameters: Mapping[str, str],
    build_package: Callable[[dict[str, str]], tuple[bytes, str]],
    *,
    echo: Callable[[str], None] = lambda _line: None,
    poll_seconds: int = 10,
) -> dict[str, str]:
    """Deploy the whole stack, functions included; the stack's outputs.

    The functions' code lives in the stack's bucket and is built from the stack's outputs
    (bucket, prefix, role), so a first deployment creates everything else first.
    ``build_package(outputs)`` returns the zip and its key in the bucket.
    """
    current = stack_status(cloudformation, stack_name)
    found = outputs(current) if current else {}
    if "BucketName" not in found:
        echo("Phase 1 of 2: bucket, repository, roles, alarms, dashboard and log groups (the functions' code goes into the bucket).")
        found = deploy(cloudformation, stack_name, template_body, {**parameters, "LambdaCodeKey": ""},
                       echo=echo, poll_seconds=poll_seconds)
        echo("Phase 2 of 2: the Lambda functions and their EventBridge rules.")
    package, key = build_package(found)
    s3.put_object(Bucket=found["BucketName"], Key=key, Body=package)
    echo(f"Lambda package ({len(package) / 1e6:.1f} MB) at s3://{found['BucketName']}/{key}")
    return deploy(cloudformation, stack_name, template_body, {**parameters, "LambdaCodeKey": key},
                  echo=echo, poll_seconds=poll_seconds)
