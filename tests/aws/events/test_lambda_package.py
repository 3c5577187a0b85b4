"""The Lambda deployment package: self-sufficient next to the runtime's boto3, reproducible,
and deployable with `kedro aws deploy-stack` on moto's CloudFormation."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ml_on_aws.control.image import ensure_repository
from ml_on_aws.control.imports import module_closure
from ml_on_aws.control.lambda_package import (
    fits_lambda,
    package_bytes,
    package_key,
    project_modules,
)
from ml_on_aws.sagemaker.config import ImageConfig
from tests.aws.events.conftest import (
    IMAGE_URI,
    PREFIX,
    REGION,
    ROOT,
    STACK_VARIABLES,
    client,
    sample_event,
    with_monitoring,
)
from tests.conftest import run_kedro

# What the Lambda Python runtime provides besides the standard library.
RUNTIME = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six.py")


@pytest.fixture(scope="module")
def package(packaged_config: dict) -> bytes:
    return package_bytes(with_monitoring(packaged_config), vendor="copy")


def test_the_package_is_reproducible_and_named_by_its_content(package: bytes, packaged_config: dict) -> None:
    assert package_bytes(with_monitoring(packaged_config), vendor="copy") == package
    other = package_bytes({**packaged_config, "name_prefix": "other"}, vendor="copy")
    assert package_key(PREFIX, other) != package_key(PREFIX, package)
    assert package_key(PREFIX, package).startswith(f"{PREFIX}/lambda/ml-on-aws-")
    names = zipfile.ZipFile(io.BytesIO(package)).namelist()
    assert {"ml_on_aws/lambda_runtime/handlers.py", "ml_on_aws/lambda_runtime/monitoring.py", "sagemaker_config.json"} <= set(names)
    assert not [n for n in names if n.startswith(("pandas/", "kedro/", "sklearn/", "boto3/", "botocore/"))]
    # The project's files are the handler module's imports, nothing of the control side or the core's ML.
    assert sorted(n for n in names if n.startswith("ml_on_aws/")) == project_modules()
    assert {"ml_on_aws/lambda_runtime/events.py", "ml_on_aws/lambda_runtime/jobs.py", "ml_on_aws/sagemaker/requests.py",
            "ml_on_aws/sagemaker/models.py", "ml_on_aws/core/config.py"} <= set(names)
    assert not [n for n in names if n.startswith(("ml_on_aws/control/", "ml_on_aws/pipelines/", "ml_on_aws/hooks/"))]


def test_the_package_follows_lazy_and_relative_imports(tmp_path: Path) -> None:
    tree = {
        "ml_on_aws/__init__.py": "",
        "ml_on_aws/lambda_runtime/__init__.py": "",
        "ml_on_aws/lambda_runtime/handlers.py": "def handle():\n    from ml_on_aws.jobs.start import run\n",
        "ml_on_aws/jobs/__init__.py": "",
        "ml_on_aws/jobs/start.py": "from .names import job_name\n",
        "ml_on_aws/jobs/names.py": "import json\n",
        "ml_on_aws/jobs/unused.py": "",
    }
    for name, text in tree.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = [p.relative_to(tmp_path).as_posix() for p in module_closure("ml_on_aws.lambda_runtime.handlers", tmp_path)]
    assert found == sorted(set(tree) - {"ml_on_aws/jobs/unused.py"})


@pytest.mark.parametrize(("handler", "event", "kind"), [
    ("handlers.retraining", "alarm_state_change", "training"),
    ("monitoring.monitoring_schedule", "scheduled_event", "processing"),
])
def test_the_packaged_handler_runs_with_only_the_runtimes_libraries(
        handler: str, event: str, kind: str, package: bytes, tmp_path: Path, data_bucket: str) -> None:
    """The zip unpacked beside boto3 alone (no site-packages), as Lambda runs it: the handler reads
    its packaged configuration and starts one job on moto (a training job on an alarm, the
    monitoring processing job on a schedule)."""
    code = tmp_path / "task"
    zipfile.ZipFile(io.BytesIO(package)).extractall(code)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(__import__("boto3").__file__).parents[1]
    for name in RUNTIME:
        (runtime / name).symlink_to(site / name)
    module, function = handler.split(".")
    script = (
        "import sys, json; sys.path[:0] = sys.argv[1:3]\n"
        f"from ml_on_aws.lambda_runtime.{module} import {function}\n"
        f"print(json.dumps({function}(json.loads(sys.argv[3]), None)))\n"
        "print(json.dumps(sorted(m for m in ('pandas', 'kedro', 'numpy', 'omegaconf') if m in sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"ML_ON_AWS_IMAGE_URI": IMAGE_URI, "AWS_REGION": REGION}
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(code), str(runtime),
                             json.dumps(sample_event(event))],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outcome, heavy = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    assert outcome["status"] == "started" and heavy == []
    if kind == "training":
        [job] = client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
        assert job["TrainingJobName"] == outcome["job"]
    else:
        [job] = client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"]
        assert job["ProcessingJobName"] == outcome["job"] == "ml-on-aws-monitor-20261201-020000"


@pytest.mark.parametrize(("tag", "fits"), [
    ("py3-none-any", True),
    ("cp311-cp311-manylinux_2_17_x86_64", True),
    ("cp311-cp311-manylinux2014_x86_64", True),
    ("cp311-cp311-manylinux_2_28_x86_64", False),  # newer glibc than Lambda's Python 3.11 image
    ("cp312-cp312-manylinux_2_17_x86_64", False),
    ("cp311-cp311-macosx_11_0_arm64", False),
    ("cp311-cp311-manylinux_2_17_aarch64", False),
])
def test_wheel_tags_that_run_on_lambda(tag: str, fits: bool) -> None:
    assert fits_lambda(tag) is fits


def add_monitoring_pipeline(project: Path) -> None:
    """conf/aws/sagemaker.yml of the project copy with processing.pipelines.monitoring (MONITORING_JOB's
    settings under the configured data root) unless it has one."""
    import yaml

    from tests.aws.events.conftest import MONITORING_JOB

    path = project / "conf" / "aws" / "sagemaker.yml"
    conf = yaml.safe_load(path.read_text())
    root = "${_root}"
    job = json.loads(json.dumps(MONITORING_JOB).replace(f"s3://{STACK_VARIABLES['ML_ON_AWS_BUCKET']}/{PREFIX}", root))
    conf["processing"]["pipelines"].setdefault("monitoring", job)
    path.write_text(yaml.safe_dump(conf, sort_keys=False))


@pytest.mark.slow
def test_deploy_stack_creates_the_functions_and_rules_in_two_phases(project: Path, aws_account: str) -> None:
    """moto creates a resource on a stack update only if its properties refer to a changed
    parameter with Ref; the rules name their package (Ref LambdaCodeKey) in their description."""
    env = {"AWS_REGION": REGION, "ML_ON_AWS_PREFIX": PREFIX}
    add_monitoring_pipeline(project)
    args = ("aws", "deploy-stack", "--template", str(ROOT / "infra" / "stack.yml"), "--image-tag", "0123456789ab",
            "--vendor", "copy", "--poll-seconds", "1", "-p", "ProjectName=mlaws",
            "-p", "MonitoringPeriodHours=24", "-p", "EndpointName=churn")
    # As documented: `push-image` first, which creates the repository the stack then takes.
    ensure_repository(client("ecr"), ImageConfig())
    first = run_kedro(project, *args, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Phase 1 of 2" in first.stdout and "Phase 2 of 2" in first.stdout
    [stack] = client("cloudformation").describe_stacks(StackName="ml-on-aws")["Stacks"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["ExistingRepository"] == "true"

    functions = {f["FunctionName"]: f for f in client("lambda").list_functions()["Functions"]}
    assert set(functions) == {"mlaws-data-arrival", "mlaws-retraining", "mlaws-monitoring-schedule"}
    monitoring = functions["mlaws-monitoring-schedule"]
    assert monitoring["Handler"] == "ml_on_aws.lambda_runtime.monitoring.monitoring_schedule"
    assert monitoring["Environment"]["Variables"]["MONITORING_WINDOW_HOURS"] == "24"
    arrival = functions["mlaws-data-arrival"]
    assert arrival["Handler"] == "ml_on_aws.lambda_runtime.handlers.data_arrival" and arrival["Runtime"] == "python3.11"
    variables = arrival["Environment"]["Variables"]
    assert variables["ARRIVAL_PREFIX"] == f"{PREFIX}/01_raw/new_data/"
    assert variables["ML_ON_AWS_IMAGE_URI"].endswith("/ml-on-aws:0123456789ab")
    events = client("events")
    rules = {r["Name"]: json.loads(r["EventPattern"]) for r in events.list_rules()["Rules"] if "EventPattern" in r}
    assert rules["mlaws-data-arrival"]["detail-type"] == ["Object Created"]
    assert rules["mlaws-retraining"]["detail"]["alarmName"] == ["mlaws-model-quality", "mlaws-drift", "churn-live-quality"]
    [target] = events.list_targets_by_rule(Rule="mlaws-retraining")["Targets"]
    assert target["Arn"] == functions["mlaws-retraining"]["FunctionArn"]
    assert events.describe_rule(Name="mlaws-monitoring-schedule")["ScheduleExpression"] == "rate(24 hours)"
    [target] = events.list_targets_by_rule(Rule="mlaws-monitoring-schedule")["Targets"]
    assert target["Arn"] == monitoring["FunctionArn"]
    bucket = first.stdout.split("export ML_ON_AWS_BUCKET=")[1].split()[0]
    # The dashboard, and its link printed last.
    body = json.loads(client("cloudwatch").get_dashboard(DashboardName="mlaws")["DashboardBody"])
    assert "churn-live-quality" in json.dumps(body["widgets"])
    assert first.stdout.strip().splitlines()[-1] == (
        f"Dashboard: https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#dashboards/dashboard/mlaws")

    again = run_kedro(project, *args, env=env)  # same code and configuration: the same package
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Phase 1 of 2" not in again.stdout and "Updating stack ml-on-aws" in again.stdout
    packages = client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}/lambda/")["Contents"]
    assert len(packages) == 1
    assert functions["mlaws-retraining"]["CodeSha256"] == client("lambda").get_function(
        FunctionName="mlaws-retraining")["Configuration"]["CodeSha256"]


@pytest.mark.slow
def test_lambda_package_command_writes_the_zip_with_the_resolved_configuration(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "lambda.zip"
    result = run_kedro(project, "aws", "lambda-package", "--vendor", "copy", "-o", str(output), env=STACK_VARIABLES)
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads(zipfile.ZipFile(output).read("sagemaker_config.json"))
    assert config["role_arn"] == STACK_VARIABLES["ML_ON_AWS_SAGEMAKER_ROLE_ARN"]
    assert config["training"]["channels"]["train"]["s3_uri"].startswith(f"s3://{STACK_VARIABLES['ML_ON_AWS_BUCKET']}/{PREFIX}/")


@pytest.mark.slow
def test_lambda_package_command_names_the_missing_variable(project: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in STACK_VARIABLES.items() if k != "ML_ON_AWS_BUCKET"}
    result = run_kedro(project, "aws", "lambda-package", "-o", str(tmp_path / "lambda.zip"),
                       env={**env, "ML_ON_AWS_BUCKET": ""})
    assert result.returncode != 0
    assert "ML_ON_AWS_BUCKET" in result.stdout + result.stderr
    assert not (tmp_path / "lambda.zip").exists()
