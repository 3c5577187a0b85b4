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
    for role in ("DataArrivalFunctionRole", "RetrainingFunctionRole", "MonitoringScheduleFunctionRole"):
        for where, statement in policy_statements({"Resources": {role: template["Resources"][role]}}):
            actions = _as_list(statement["Action"])
            if any(a.startswith("sagemaker:Create") for a in actions):
                resources = [r["Fn::Sub"] for r in _as_list(statement["Resource"])]
                assert all(r.endswith("/${JobNamePrefix}-*") for r in resources) or role == "MonitoringScheduleFunctionRole", where
                if role == "MonitoringScheduleFunctionRole":  # only the names it gives its jobs
                    assert resources == ["arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"
                                         "processing-job/${JobNamePrefix}-monitor-*"], where
                    assert set(actions) == {"sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob",
                                            "sagemaker:AddTags"}, where
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
    assert len(functions) == 3
    for function in functions:
        group = groups[f"/aws/lambda/{function['FunctionName']['Fn::Sub']}"]
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_alarms_cover_quality_drift_and_missing_data(template: dict[str, Any]) -> None:
    alarms = {k: r["Properties"] for k, r in template["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == {"Ref": "MetricNamespace"}}
    assert set(alarms) == {"ModelQualityAlarm", "DriftAlarm", "MissingDataAlarm", "LiveQualityAlarm"}
    assert alarms["ModelQualityAlarm"]["ComparisonOperator"] == "LessThanThreshold"
    assert alarms["LiveQualityAlarm"]["ComparisonOperator"] == "LessThanThreshold"
    assert alarms["DriftAlarm"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarms["MissingDataAlarm"]["TreatMissingData"] == "breaching"
    # One evaluation per period of new data; the live one is watched over its own, shorter period.
    assert alarms["ModelQualityAlarm"]["Period"] == {"Ref": "MetricPeriodSeconds"}
    assert alarms["LiveQualityAlarm"]["Period"] == {"Ref": "LiveQualityPeriodSeconds"}
    for alarm in alarms.values():
        assert [d["Name"] for d in alarm["Dimensions"]] == ["ModelName", "Environment", "Dataset"]
    # The retraining rule listens to exactly the quality and drift alarms, by name, and to the
    # live-quality alarm when the stack has it.
    pattern = template["Resources"]["RetrainingRule"]["Properties"]["EventPattern"]
    for endpoint in (False, True):
        routed = {name["Fn::Sub"] for name in choose(pattern["detail"]["alarmName"], {"HasEndpoint": endpoint})}
        names = ["ModelQualityAlarm", "DriftAlarm"] + (["LiveQualityAlarm"] if endpoint else [])
        assert routed == {alarms[name]["AlarmName"]["Fn::Sub"] for name in names}
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
    assert set(configs) == {"DataArrivalFunction", "RetrainingFunction", "MonitoringScheduleFunction"}
    for function, config in configs.items():
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue
        assert "ReservedConcurrentExecutions" in resources[function]["Properties"]
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        granted = [s for where, s in policy_statements(template) if where.startswith(f"{role}.")]
        assert any(s["Action"] == "sqs:SendMessage" and s["Resource"] == queue for s in granted), role
    rules = ("DataArrivalRule", "RetrainingRule", "MonitoringScheduleRule")
    for rule in rules:
        [target] = resources[rule]["Properties"]["Targets"]
        assert target["DeadLetterConfig"]["Arn"] == queue
    [statement] = resources["FailedEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    for schedule in (False, True):  # the queue takes the dead letters of every rule the stack has
        sources = choose(statement["Condition"]["ArnEquals"]["aws:SourceArn"], {"HasMonitoringSchedule": schedule})
        assert sources == [{"Fn::GetAtt": [rule, "Arn"]} for rule in rules[:3 if schedule else 2]]
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


# ---------------------------------------------------------------- resolving parameters

PSEUDO_PARAMETERS = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
                     "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "ml-on-aws"}


def choose(value: Any, conditions: dict[str, bool]) -> Any:
    """``value`` with every ``Fn::If`` decided by ``conditions``, nothing else resolved."""
    if isinstance(value, list):
        return [choose(item, conditions) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return choose(when_true if conditions[name] else when_false, conditions)
        return {key: choose(item, conditions) for key, item in value.items()}
    return value


def resolve(value: Any, parameters: dict[str, Any], conditions: dict[str, bool]) -> Any:
    """``value`` as CloudFormation makes it: ``Fn::If``, ``Ref`` and ``Fn::Sub`` of parameters and
    pseudo parameters resolved (other intrinsics, e.g. GetAtt, are left as they are)."""
    names = {**PSEUDO_PARAMETERS, **parameters}
    value = choose(value, conditions)
    if isinstance(value, list):
        return [resolve(item, parameters, conditions) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in names:
        return names[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        known = {**names, **{key: resolve(item, parameters, conditions) for key, item in variables.items()}}
        return re.sub(r"\$\{([^}!]+)\}", lambda m: str(known[m.group(1)]) if m.group(1) in known else m.group(0), text)
    return {key: resolve(item, parameters, conditions) for key, item in value.items()}


def stack_values(template: dict[str, Any], **given: str) -> tuple[dict[str, Any], dict[str, bool]]:
    """The parameters (defaults, then ``given``) and the conditions this file's tests decide on."""
    parameters = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    parameters.update(given)
    functions = bool(parameters["LambdaCodeKey"] and parameters["ImageTag"])
    conditions = {
        "HasEndpoint": bool(parameters["EndpointName"]),
        "HasMonitoringPeriod": bool(parameters["MonitoringPeriodHours"]),
        "HasMonitoringSchedule": functions and bool(parameters["MonitoringPeriodHours"]),
        "MonitoringEveryHour": parameters["MonitoringPeriodHours"] == "1",
        "HasFunctions": functions,
    }
    return parameters, conditions


def created(template: dict[str, Any], conditions: dict[str, bool], kind: str) -> dict[str, dict[str, Any]]:
    """The resources of type ``kind`` the stack creates under ``conditions``."""
    return {key: r for key, r in template["Resources"].items()
            if r["Type"] == kind and conditions.get(r.get("Condition", ""), True)}


# ---------------------------------------------------------------- live traffic (issue 18)

FUNCTIONS = {"LambdaCodeKey": "project/lambda/ml-on-aws-0123.zip", "ImageTag": "0123456789ab"}


@pytest.mark.parametrize(("hours", "expression"), [("1", "rate(1 hour)"), ("24", "rate(24 hours)")])
def test_the_monitoring_schedule_runs_every_period_on_a_window_of_that_period(template, hours, expression) -> None:
    parameters, conditions = stack_values(template, MonitoringPeriodHours=hours, **FUNCTIONS)
    rule = resolve(template["Resources"]["MonitoringScheduleRule"]["Properties"], parameters, conditions)
    assert rule["ScheduleExpression"] == expression
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["MonitoringScheduleFunction", "Arn"]}
    function = resolve(template["Resources"]["MonitoringScheduleFunction"]["Properties"], parameters, conditions)
    assert function["Handler"] == "ml_on_aws.lambda_runtime.monitoring.monitoring_schedule"
    assert function["Environment"]["Variables"]["MONITORING_WINDOW_HOURS"] == hours
    assert function["Environment"]["Variables"]["MONITORING_PIPELINE"] == "monitoring"


def test_an_empty_period_schedules_nothing(template) -> None:
    _, conditions = stack_values(template, MonitoringPeriodHours="", **FUNCTIONS)
    assert "MonitoringScheduleRule" not in created(template, conditions, "AWS::Events::Rule")
    assert "MonitoringScheduleFunction" not in created(template, conditions, "AWS::Lambda::Function")
    assert "MonitoringScheduleFunctionRole" not in created(template, conditions, "AWS::IAM::Role")


def test_every_function_handler_is_in_the_lambda_package(template) -> None:
    import importlib

    from ml_on_aws.control.lambda_package import project_modules

    packaged = set(project_modules())
    for function in created(template, stack_values(template, MonitoringPeriodHours="24", **FUNCTIONS)[1],
                            "AWS::Lambda::Function").values():
        module, _, name = function["Properties"]["Handler"].rpartition(".")
        assert module.replace(".", "/") + ".py" in packaged, module
        assert callable(getattr(importlib.import_module(module), name)), function["Properties"]["Handler"]


def test_endpoint_alarms_are_the_agreed_three(template) -> None:
    """Names and definitions of the issue-18 interfaces (item 5): blue/green rollback lists them."""
    assert created(template, stack_values(template)[1], "AWS::CloudWatch::Alarm").keys() >= {"ModelQualityAlarm"}
    assert not {"EndpointErrorsAlarm", "EndpointLatencyAlarm", "LiveQualityAlarm"} & set(
        created(template, stack_values(template)[1], "AWS::CloudWatch::Alarm"))
    parameters, conditions = stack_values(template, EndpointName="churn")
    alarms = {r["AlarmName"]: r for r in (resolve(a["Properties"], parameters, conditions)
                                          for a in created(template, conditions, "AWS::CloudWatch::Alarm").values())}
    endpoint_dimensions = [{"Name": "EndpointName", "Value": "churn"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    errors, latency, live = alarms["churn-invocation-5xx-errors"], alarms["churn-model-latency"], alarms["churn-live-quality"]
    assert (errors["Namespace"], errors["MetricName"], errors["Dimensions"]) == ("AWS/SageMaker", "Invocation5XXErrors", endpoint_dimensions)
    assert (errors["Statistic"], errors["Period"], errors["EvaluationPeriods"], errors["DatapointsToAlarm"]) == ("Sum", 60, 2, 2)
    assert (errors["ComparisonOperator"], errors["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert (latency["Namespace"], latency["MetricName"], latency["Dimensions"]) == ("AWS/SageMaker", "ModelLatency", endpoint_dimensions)
    assert (latency["Statistic"], latency["Period"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == ("Average", 60, 2, 2)
    assert (latency["ComparisonOperator"], latency["Threshold"]) == ("GreaterThanThreshold", "500000")
    assert (live["Namespace"], live["MetricName"], live["Threshold"]) == ("MlOnAws", "live_roc_auc", "0.7")
    assert live["ComparisonOperator"] == "LessThanThreshold"
    assert live["Dimensions"] == [{"Name": "ModelName", "Value": "ml-on-aws"}, {"Name": "Environment", "Value": "aws"},
                                  {"Name": "Dataset", "Value": "raw_data"}]
    assert all(alarm["AlarmActions"] == [{"Ref": "AlertTopic"}] for alarm in alarms.values())


# The metrics of the issue-18 interfaces (item 4) the monitoring job publishes, also per ModelVersion.
LIVE_METRICS = {"live_roc_auc", "live_drift_share", "drift_retrain_signal", "live_records", "live_unparsed_records",
                "live_prediction_shift"}
ENDPOINT_METRICS = {"Invocations", "ModelLatency", "Invocation4XXErrors", "Invocation5XXErrors"}
_SEARCH = re.compile(r"""SEARCH\('\{(?P<schema>[^}]*)\} (?P<terms>.*)', '(?P<stat>\w+)', (?P<period>\d+)\)""")


def dashboard(template: dict[str, Any], **given: str) -> dict[str, Any]:
    parameters, conditions = stack_values(template, **given)
    return json.loads(resolve(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"], parameters, conditions))


def searches(body: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if isinstance(line[0], dict) and "expression" in line[0]:
                match = _SEARCH.fullmatch(line[0]["expression"])
                assert match, line[0]["expression"]
                found.append({"title": widget["properties"]["title"], **match.groupdict()})
    return found


@pytest.mark.parametrize("endpoint", ["", "churn"])
def test_the_dashboard_graphs_live_quality_and_drift_per_model_version(template, endpoint: str) -> None:
    body = dashboard(template, EndpointName=endpoint)
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24 and widget["type"] in {"metric", "alarm", "text"}
    per_version = {}
    for search in searches(body):
        metric = re.search(r'MetricName=("?)(\w+)\1', search["terms"]).group(2)
        schema = search["schema"].split(",")
        if schema[0] == '"MlOnAws"':
            # The deployment's series: exactly the dimensions the pipelines publish.
            assert 'ModelName="ml-on-aws" Environment="aws" Dataset="raw_data"' in search["terms"], search
            if "ModelVersion" in schema:
                per_version[metric] = schema
        else:
            assert schema == ["AWS/SageMaker", "EndpointName", "VariantName"] and metric in ENDPOINT_METRICS
            assert ('EndpointName="churn" VariantName="AllTraffic"' in search["terms"]) == bool(endpoint)
    assert set(per_version) == LIVE_METRICS
    assert all(sorted(schema[1:]) == ["Dataset", "Environment", "ModelName", "ModelVersion"] for schema in per_version.values())
    assert {m for s in searches(body) for m in ENDPOINT_METRICS if f'MetricName="{m}"' in s["terms"]} == ENDPOINT_METRICS
    assert any(s["terms"].startswith("MetricName=test ") for s in searches(body))  # every test_<metric>


@pytest.mark.parametrize("given", [{}, {"EndpointName": "churn", "MonitoringPeriodHours": "24", **FUNCTIONS}])
def test_the_dashboard_shows_every_alarm_and_function_of_the_stack(template, given: dict[str, str]) -> None:
    parameters, conditions = stack_values(template, **given)
    body = dashboard(template, **given)
    [alarm_widget] = [w for w in body["widgets"] if w["type"] == "alarm"]
    names = [resolve(a["Properties"]["AlarmName"], parameters, conditions)
             for a in created(template, conditions, "AWS::CloudWatch::Alarm").values()]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(
        f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}" for name in names)
    graphed = {tuple(line[:-1]) for w in body["widgets"] for line in w["properties"].get("metrics", [])
               if isinstance(line[0], str)}
    # Every function of the stack, whether or not this deployment has it (its graph stays empty).
    all_functions = stack_values(template, MonitoringPeriodHours="24", **FUNCTIONS)
    for function in created(template, all_functions[1], "AWS::Lambda::Function").values():
        name = resolve(function["Properties"]["FunctionName"], *all_functions)
        assert {("AWS/Lambda", "Invocations", "FunctionName", name), ("AWS/Lambda", "Errors", "FunctionName", name)} <= graphed
    for log_filter in created(template, all_functions[1], "AWS::Logs::MetricFilter").values():
        [metric] = resolve(log_filter["Properties"]["MetricTransformations"], *all_functions)
        assert (metric["MetricNamespace"], metric["MetricName"]) in graphed


def test_deploy_stack_prints_the_dashboard_url_output(template) -> None:
    parameters, conditions = stack_values(template)
    url = resolve(template["Outputs"]["DashboardUrl"]["Value"], {**parameters, "Dashboard": "ml-on-aws"}, conditions)
    assert url == ("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
                   "#dashboards/dashboard/ml-on-aws")
    assert template["Resources"]["Dashboard"]["Properties"]["DashboardName"] == {"Ref": "ProjectName"}


def test_the_stacks_endpoint_alarms_are_the_ones_deploy_would_create(template) -> None:
    """`kedro sagemaker deploy` creates the same three alarms when the stack does not own the
    endpoint (sagemaker/alarms.py); with the defaults on both sides the two definitions agree, so
    whichever made them, a rollback watches the same thresholds."""
    from kedro.framework.project import configure_project

    from ml_on_aws.aws.cloudwatch import CloudWatchConfig, dimensions
    from ml_on_aws.sagemaker.alarms import endpoint_alarm_requests
    from ml_on_aws.sagemaker.config import parse_config, read

    configure_project("ml_on_aws")  # settings.py's config patterns, where sagemaker.yml is declared
    parameters, conditions = stack_values(template, EndpointName="ml-on-aws")
    metrics = CloudWatchConfig(namespace=parameters["MetricNamespace"], model_name=parameters["MetricModelName"],
                               environment=parameters["MetricEnvironment"], dataset=parameters["MetricDataset"])
    raw = read(ROOT, "local")  # conf/local is empty: conf/base's settings, plus the account's keys
    raw |= {"region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/sagemaker",
            "training": {**raw["training"], "channels": {"train": {"s3_uri": "s3://bucket/data.csv"}},
                         "output_s3_uri": "s3://bucket/training"}}
    config = parse_config(raw)
    deployed = {request["AlarmName"]: request for request in endpoint_alarm_requests(
        config, metric_namespace=metrics.namespace, metric_dimensions=dimensions(metrics))}
    compared = ("Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods", "Threshold",
                "ComparisonOperator", "TreatMissingData")
    stacked = {}
    for alarm in created(template, conditions, "AWS::CloudWatch::Alarm").values():
        properties = resolve(alarm["Properties"], parameters, conditions)
        if properties["AlarmName"] in deployed:
            stacked[properties["AlarmName"]] = {key: properties.get(key) for key in compared}
    assert set(stacked) == set(deployed)
    for name, request in deployed.items():
        expected = {key: request.get(key) for key in compared}
        actual = {key: (float(value) if key == "Threshold" else int(value) if key in ("Period", "EvaluationPeriods")
                        else value) for key, value in stacked[name].items()}
        expected["Threshold"] = float(expected["Threshold"])
        assert actual == expected, name
