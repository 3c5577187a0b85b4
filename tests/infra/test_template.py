"""The CloudFormation template: cfn-lint clean, least-privilege IAM, the promised settings."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "stack.yml"
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))

# Actions AWS grants only on Resource "*" (no resource-level permissions). Any other action on
# "*" is a policy that could be scoped and is not.
RESOURCE_STAR_ONLY = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", "sagemaker:ListTrainingJobs"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, problems = decode_str(TEMPLATE_PATH.read_text())
    assert not problems, problems
    return parsed


def test_cfn_lint_reports_nothing() -> None:
    """Errors and warnings both fail (cfn-lint exits 0 only when it reports nothing)."""
    result = subprocess.run([CFN_LINT, str(TEMPLATE_PATH)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, statement) of every identity policy the template grants (roles and policies)."""
    found = []
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [(f"{logical_id}.{p['PolicyName']}", p["PolicyDocument"]) for p in properties.get("Policies", [])]
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append((logical_id, properties["PolicyDocument"]))
        for where, document in documents:
            found += [(where, statement) for statement in _as_list(document["Statement"])]
    return found


def wildcard_grants(statements: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Allow statements that pair a wildcard action with the "*" resource, or that grant an
    action on "*" although the action can be scoped to a resource."""
    problems = []
    for where, statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
        resources = _as_list(statement.get("Resource", []))
        if "*" not in resources:
            continue
        wild = [a for a in actions if "*" in a]
        if wild:
            problems.append(f"{where}: {wild} on *")
        scopable = [a for a in actions if a not in RESOURCE_STAR_ONLY and "*" not in a]
        if scopable:
            problems.append(f"{where}: {scopable} on * although they take a resource")
        if "NotAction" in statement:
            problems.append(f"{where}: NotAction on *")
    return problems


def test_the_wildcard_check_catches_what_it_should() -> None:
    planted = [
        ("A", {"Effect": "Allow", "Action": "*", "Resource": "*"}),
        ("B", {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}),
        ("C", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
        ("D", {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/*"}),
        ("E", {"Effect": "Deny", "Action": "*", "Resource": "*"}),
    ]
    assert [p.split(":")[0] for p in wildcard_grants(planted)] == ["A", "B", "C"]


def test_no_policy_grants_wildcards(template: dict[str, Any]) -> None:
    statements = policy_statements(template)
    assert len(statements) >= 10  # every role's policies were found
    assert wildcard_grants(statements) == []


# The only S3 actions whose requests carry the s3:prefix condition key (AWS's service
# authorization reference for S3): any other action under that condition is never allowed.
PREFIX_CONDITION_ACTIONS = {"s3:ListBucket", "s3:ListBucketVersions"}


def test_s3_prefix_conditions_guard_only_list_actions(template: dict[str, Any]) -> None:
    misplaced = []
    for where, statement in policy_statements(template):
        conditions = statement.get("Condition", {})
        if any("s3:prefix" in keys for keys in conditions.values()):
            misplaced += [f"{where}: {a}" for a in _as_list(statement["Action"]) if a not in PREFIX_CONDITION_ACTIONS]
    assert misplaced == []


def test_lambda_roles_reach_only_the_projects_jobs_and_role(template: dict[str, Any]) -> None:
    for role in ("DataArrivalFunctionRole", "RetrainingFunctionRole"):
        for where, statement in policy_statements({"Resources": {role: template["Resources"][role]}}):
            actions = _as_list(statement["Action"])
            if any(a.startswith("sagemaker:Create") for a in actions):
                resources = [r["Fn::Sub"] for r in _as_list(statement["Resource"])]
                assert all(r.endswith("/${JobNamePrefix}-*") for r in resources), where
            if "iam:PassRole" in actions:
                assert statement["Resource"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}, where
                assert statement["Condition"]["StringEquals"]["iam:PassedToService"] == "sagemaker.amazonaws.com"


def test_bucket_is_private_encrypted_versioned_and_tls_only(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {"EventBridgeEnabled": True}
    [deny] = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_repository_scans_keeps_tags_and_expires_images(template: dict[str, Any]) -> None:
    repository = template["Resources"]["Repository"]["Properties"]
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"]["Fn::Sub"].replace("${KeepImages}", "30"))["rules"]
    assert {rule["action"]["type"] for rule in rules} == {"expire"}


def test_every_function_logs_to_a_log_group_with_retention(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    groups = {r["Properties"]["LogGroupName"]["Fn::Sub"]: r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"}
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 2
    for function in functions:
        group = groups[f"/aws/lambda/{function['FunctionName']['Fn::Sub']}"]
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_alarms_cover_quality_drift_and_missing_data(template: dict[str, Any]) -> None:
    alarms = {k: r["Properties"] for k, r in template["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == {"Ref": "MetricNamespace"}}
    assert set(alarms) == {"ModelQualityAlarm", "DriftAlarm", "MissingDataAlarm"}
    assert alarms["ModelQualityAlarm"]["ComparisonOperator"] == "LessThanThreshold"
    assert alarms["DriftAlarm"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarms["MissingDataAlarm"]["TreatMissingData"] == "breaching"
    for alarm in alarms.values():
        assert [d["Name"] for d in alarm["Dimensions"]] == ["ModelName", "Environment", "Dataset"]
    # The retraining rule listens to exactly the quality and drift alarms, by name.
    pattern = template["Resources"]["RetrainingRule"]["Properties"]["EventPattern"]
    routed = {name["Fn::Sub"] for name in pattern["detail"]["alarmName"]}
    assert routed == {alarms["ModelQualityAlarm"]["AlarmName"]["Fn::Sub"], alarms["DriftAlarm"]["AlarmName"]["Fn::Sub"]}
    assert pattern["detail"]["state"]["value"] == ["ALARM"]


def test_architecture_diagram_shows_every_resource(template: dict[str, Any]) -> None:
    """docs/architecture.md's Mermaid diagram names each resource by its logical id."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    # The stack's diagram is the one that names the stack's resources (another draws the packages).
    diagram = max(re.findall(r"```mermaid\n(.*?)```", text, flags=re.S),
                  key=lambda d: len(set(re.findall(r"\b([A-Z][A-Za-z]+)[\[\(\{]", d)) & set(template["Resources"])))
    nodes = set(re.findall(r"\b([A-Z][A-Za-z]+)[\[\(\{]", diagram))
    plumbing = {"AWS::Lambda::Permission", "AWS::S3::BucketPolicy", "AWS::SNS::Subscription",
                "AWS::SQS::QueuePolicy", "AWS::Lambda::EventInvokeConfig"}
    shown = {k for k, r in template["Resources"].items() if r["Type"] not in plumbing}
    assert shown - nodes == set(), "resources missing from the diagram"
    assert nodes - set(template["Resources"]) == set(), "diagram nodes that are not in the template"


def test_no_event_is_lost_in_silence(template: dict[str, Any]) -> None:
    """Both functions: reserved concurrency, an on-failure destination, their rule's dead-letter
    queue, the right to send there; the queue's messages alarm the topic."""
    resources = template["Resources"]
    queue = {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}
    configs = {r["Properties"]["FunctionName"]["Ref"]: r["Properties"] for r in resources.values()
               if r["Type"] == "AWS::Lambda::EventInvokeConfig"}
    assert set(configs) == {"DataArrivalFunction", "RetrainingFunction"}
    for function, config in configs.items():
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue
        assert "ReservedConcurrentExecutions" in resources[function]["Properties"]
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        granted = [s for where, s in policy_statements(template) if where.startswith(f"{role}.")]
        assert any(s["Action"] == "sqs:SendMessage" and s["Resource"] == queue for s in granted), role
    for rule in ("DataArrivalRule", "RetrainingRule"):
        [target] = resources[rule]["Properties"]["Targets"]
        assert target["DeadLetterConfig"]["Arn"] == queue
    [statement] = resources["FailedEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    alarm = resources["FailedEventsAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedEventsQueue", "QueueName"]}}]
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


def test_the_stack_and_push_image_name_the_same_repository_by_default(template: dict[str, Any]) -> None:
    from ml_on_aws.sagemaker.config import ImageConfig

    assert template["Parameters"]["RepositoryName"]["Default"] == ImageConfig().repository
    assert template["Resources"]["Repository"]["Condition"] == "CreateRepository"


def test_checkov_reports_nothing_on_the_stack_and_the_dockerfile() -> None:
    """`make lint`'s checkov run, at the version the Makefile pins: every finding is fixed or
    skipped in the file with its reason (uv runs it in its own tool environment)."""
    version = re.search(r"^CHECKOV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), flags=re.M).group(1)
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    result = subprocess.run(
        [uv, "tool", "run", "--quiet", f"checkov=={version}", "--file", "infra/stack.yml", "--file", "Dockerfile",
         "--compact", "--quiet", "--skip-download"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout
