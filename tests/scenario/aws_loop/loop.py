"""The stages of the AWS loop, run in order; the first one that fails ends the run (exit 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .doubles import AlarmEvaluator, Endpoint, JobExecutor, LambdaRuntime, matches
from .emulator import ACCOUNT, REGION, Credentials, Moto

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts"))  # make_capture_sample: the requests of the live traffic
KEDRO = str(Path(sys.executable).with_name("kedro"))
STACK = "ml-on-aws"
PREFIX = "ml-on-aws"
# What the image build and `kedro data upload` need, taken from the last commit (a clean clone's files).
PROJECT_FILES = ("conf", "src", "infra", "data", "docker/slim-venv.sh", "Dockerfile", ".dockerignore", ".gitignore",
                 "uv.lock", "pyproject.toml", "README.md", ".telemetry")
# Small runs: two random-search candidates, two folds (training.hyperparameters in sagemaker.yml).
HYPERPARAMETERS = {"training.search.n_iter": "2", "training.search.cv": "2"}
SCORING_INSTANCES = 3
# Named up front: `push-image` reads conf/aws/sagemaker.yml, which needs ML_ON_AWS_BUCKET, before
# the stack exists (a generated bucket name would be known only after it).
BUCKET = "ml-on-aws-loop-data"
ENDPOINT = "ml-on-aws"  # endpoint.name of conf/base/sagemaker.yml
MONITORING_HOURS = 24
# The live traffic of stage 9: applicants this old or older, this many rows.
LIVE_AGE, LIVE_ROWS = 50, 150


class StageFailed(RuntimeError):
    pass


def say(line: str) -> None:
    print(line, flush=True)


class Loop:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.moto: Moto | None = None
        self.admin: Credentials | None = None
        self.state: dict[str, Any] = {}
        self.endpoint: Endpoint | None = None

    def close(self) -> None:
        """What the run started outside this process: the endpoint's container, moto's server."""
        if self.endpoint is not None:
            self.endpoint.stop()
        if self.moto is not None:
            self.moto.stop()

    # ------------------------------------------------------------------ helpers

    def client(self, service: str) -> Any:
        assert self.admin and self.moto
        return self.admin.client(service, self.moto.endpoint)

    def env(self, **extra: str) -> dict[str, str]:
        """A user's shell: the admin's keys, the region, moto as the endpoint, no AWS config files."""
        assert self.admin and self.moto
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ML_ON_AWS_"))}
        return {**base, **self.docker_env, **self.admin.environment(), "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL": self.moto.endpoint, "AWS_CONFIG_FILE": str(self.workdir / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.workdir / "no-aws-credentials"), "COLUMNS": "200",
                "DOCKER_CONFIG": str(self.workdir / "docker-config"), "ML_ON_AWS_PREFIX": PREFIX, "ML_ON_AWS_BUCKET": BUCKET, **extra}

    def kedro(self, *args: str, env: dict[str, str] | None = None, timeout: int = 1200) -> subprocess.CompletedProcess:
        """``kedro ARGS`` in the project copy; output kept in the log, a heartbeat meanwhile."""
        log = self.workdir / "kedro.log"
        with log.open("a") as out:
            out.write(f"\n$ kedro {' '.join(args)}\n")
            out.flush()
            process = subprocess.Popen([KEDRO, *args], cwd=self.project, env=env or self.env(), stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
            lines: list[str] = []
            last = time.monotonic()
            assert process.stdout
            for line in process.stdout:
                out.write(line)
                lines.append(line.rstrip("\n"))
                if time.monotonic() - last > 15:
                    last = time.monotonic()
                    say(f"  .. kedro {args[0]} {args[1] if len(args) > 1 else ''}: {line.strip()[:140]}")
            code = process.wait(timeout=timeout)
        return subprocess.CompletedProcess(args, code, "\n".join(lines), "")

    def outputs(self) -> dict[str, str]:
        [stack] = self.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
        self.state["parameters"] = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def image_for_jobs(self, uri: str) -> None:
        """SageMaker pulls ``<account>.dkr.ecr...`` images; here ECR's registry is the local one."""
        registry_uri = f"{self.registry}/{uri.split('/', 1)[1]}"
        for command in (["docker", "pull", "-q", registry_uri], ["docker", "tag", registry_uri, uri]):
            subprocess.run(command, env={**os.environ, **self.docker_env}, check=True, capture_output=True, text=True)

    def put_object(self, key: str, frame: pd.DataFrame) -> str:
        body = frame.to_csv(index=False).encode()
        version = self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body).get("VersionId", "")
        return version

    # ------------------------------------------------------------------ stages

    def stage_1_services(self) -> str:
        import logging

        from tests.support.docker_engine import ensure_base_image, ensure_docker, ensure_registry

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.moto = Moto()
        self.admin = self.moto.bootstrap_admin()
        denied = ""
        try:
            Credentials("AKIAUNKNOWNKEY000000", "x" * 40).client("s3", self.moto.endpoint).list_buckets()
        except Exception as error:  # noqa: BLE001 - the point is that it fails
            denied = type(error).__name__ + ": " + str(error)[:60]
        if not denied or not self.moto.enforced():
            raise StageFailed("moto does not enforce IAM: an unknown access key listed the buckets")
        self.client("s3").list_buckets()  # the admin may
        self.docker_env = {"DOCKER_HOST": ensure_docker()["DOCKER_HOST"]}
        # The harness is the laptop and SageMaker's hosts at once: its own docker calls (the job
        # executor's and the endpoint's containers) go to the same engine.
        os.environ["DOCKER_HOST"] = self.docker_env["DOCKER_HOST"]
        ensure_base_image()
        self.registry = ensure_registry()
        return (f"moto {self.moto.endpoint} enforces IAM after {self.moto._settings.INITIAL_NO_AUTH_ACTION_COUNT:g} bootstrap "
                f"requests (admin {self.admin.arn}; unknown key -> {denied}); registry {self.registry}; "
                f"dockerd {self.docker_env['DOCKER_HOST']}")

    def _copy_project(self) -> Path:
        project = self.workdir / "project"
        project.mkdir()
        archive = subprocess.run(["git", "archive", "--format=tar", "HEAD", *PROJECT_FILES], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(project)], input=archive, check=True)
        (project / "conf" / "local").mkdir(exist_ok=True)
        for folder in sorted((ROOT / "data").iterdir()):
            if folder.is_dir():
                (project / "data" / folder.name).mkdir(parents=True, exist_ok=True)
        # The user's configuration for this deployment: small searches, scoring over 3 instances.
        conf = project / "conf" / "aws" / "sagemaker.yml"
        settings = yaml.safe_load(conf.read_text())
        settings["training"]["hyperparameters"] = HYPERPARAMETERS
        # This machine's engine has no bridge network: builds use the host's (docs/container.md).
        settings.setdefault("image", {})["build_options"] = ["--network=host"]
        settings["processing"]["pipelines"]["inference"]["instance_count"] = SCORING_INSTANCES
        # Labels of the live traffic for the monitoring job (the optional input of conf/aws/sagemaker.yml).
        settings["processing"]["pipelines"]["monitoring"]["inputs"]["ground_truth_labels"] = {
            "s3_uri": "${_root}/01_raw/ground_truth_labels.csv"}
        # The stack owns the endpoint's alarms (EndpointName): `deploy` only checks they exist.
        settings.setdefault("endpoint", {}).setdefault("deployment", {}).setdefault("alarms", {})["create"] = False
        conf.write_text(yaml.safe_dump(settings, sort_keys=False))

        def git(*args: str) -> str:
            return subprocess.run(["git", "-c", "user.email=loop@example.com", "-c", "user.name=aws-loop", *args],
                                  cwd=project, check=True, capture_output=True, text=True).stdout.strip()

        git("init", "-q")
        git("add", "-A")
        git("commit", "-qm", "project for the aws loop")
        self.commit = git("rev-parse", "--short=12", "HEAD")
        return project

    def _ecr_holds(self, tag: str) -> str:
        """Tell moto's ECR what ECR holds after the push: the manifest the registry received
        (moto's ECR keeps no image bytes and has no /v2/ API)."""
        from ml_on_aws.control.image import DOCKER_V2_MANIFEST

        request = urllib.request.Request(f"http://{self.registry}/v2/ml-on-aws/manifests/{tag}",
                                         headers={"Accept": DOCKER_V2_MANIFEST})
        with urllib.request.urlopen(request) as response:
            manifest, digest = response.read().decode(), response.headers["Docker-Content-Digest"]
        ecr = self.client("ecr")
        if not ecr.batch_get_image(repositoryName="ml-on-aws", imageIds=[{"imageTag": tag}])["images"]:
            ecr.put_image(repositoryName="ml-on-aws", imageManifest=manifest, imageManifestMediaType=DOCKER_V2_MANIFEST,
                          imageTag=tag, imageDigest=digest)
        return digest

    def _push(self) -> str:
        result = self.kedro("sagemaker", "push-image", "--registry", self.registry)
        if result.returncode != 0:
            raise StageFailed(f"push-image failed:\n{result.stdout[-3000:]}")
        return result.stdout

    def _deploy_stack(self, *parameters: str) -> str:
        args = ["aws", "deploy-stack", "--vendor", "copy", "--poll-seconds", "1"]
        for parameter in parameters:
            args += ["-p", parameter]
        result = self.kedro(*args)
        if result.returncode != 0:
            raise StageFailed(f"deploy-stack failed:\n{result.stdout[-3000:]}")
        return result.stdout

    def stage_2_push_and_deploy(self) -> str:
        self.project = self._copy_project()
        say(f"  .. project copy at {self.project}, commit {self.commit}; building and pushing the image")
        self._push()
        digest = self._ecr_holds(self.commit)
        first_stack = self._deploy_stack(*self.stack_parameters)
        second_push = self._push()
        second_stack = self._deploy_stack(*self.stack_parameters)
        if "not pushed again" not in second_push:
            raise StageFailed(f"the second push-image did not recognise the pushed image:\n{second_push[-1500:]}")
        if "Phase 2 of 2" not in first_stack or "Phase 1 of 2" in second_stack:
            raise StageFailed(f"deploy-stack phases unexpected:\n{first_stack[-1500:]}\n---\n{second_stack[-1500:]}")
        outputs = self.outputs()
        self.bucket, self.role_arn = outputs["BucketName"], outputs["SageMakerExecutionRoleArn"]
        invoke_configs = self._event_invoke_configs(outputs)
        functions = sorted(f["FunctionName"] for f in self.moto.lambda_read(self.admin, "list_functions")["Functions"])
        self.image_uri = f"{outputs['RepositoryUri']}:{self.commit}"
        parameters = self.state["parameters"]
        return (f"pushed {self.registry}/ml-on-aws:{self.commit} ({digest[:19]}...), stack {STACK} with "
                f"ExistingRepository={parameters['ExistingRepository']}, functions {functions}, "
                f"package {parameters['LambdaCodeKey']}, filled in for moto {invoke_configs}; again: push 'already pushed ... not pushed again', "
                f"deploy-stack {'up to date' if 'is up to date' in second_stack else 'updated'}")

    def _event_invoke_configs(self, outputs: dict[str, str]) -> list[str]:
        """What moto's CloudFormation skips, made with the services' APIs from the template: the
        AWS::Lambda::EventInvokeConfig resources ("not supported"), the bucket's versioning and its
        EventBridge notifications (ignored)."""
        from cfnlint.decode import decode_str

        template, _ = decode_str((self.project / "infra" / "stack.yml").read_text())
        resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                     self.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
        sqs = self.client("sqs")
        queue_arn = sqs.get_queue_attributes(QueueUrl=outputs["FailedEventsQueueUrl"],
                                             AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        made = []
        # Also ignored by moto's CloudFormation: the bucket's versioning and its EventBridge switch.
        bucket = template["Resources"]["DataBucket"]["Properties"]
        s3 = self.client("s3")
        s3.put_bucket_versioning(Bucket=outputs["BucketName"], VersioningConfiguration=bucket["VersioningConfiguration"])
        if bucket["NotificationConfiguration"].get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(Bucket=outputs["BucketName"],
                                                     NotificationConfiguration={"EventBridgeConfiguration": {}})
            made.append("bucket->EventBridge")
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::Lambda::EventInvokeConfig":
                continue
            properties = resource["Properties"]
            if properties["FunctionName"]["Ref"] not in resources:  # a function this deployment leaves out
                continue
            name = resources[properties["FunctionName"]["Ref"]].rsplit(":", 1)[-1]
            destination = properties["DestinationConfig"]["OnFailure"]["Destination"]
            if destination != {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}:
                raise StageFailed(f"{name}: unexpected on-failure destination {destination}")
            assert self.admin and self.moto
            self.admin.client("lambda", self.moto.endpoint).put_function_event_invoke_config(
                FunctionName=name, Qualifier=properties.get("Qualifier", "$LATEST"),
                MaximumRetryAttempts=int(properties["MaximumRetryAttempts"]),
                MaximumEventAgeInSeconds=int(properties["MaximumEventAgeInSeconds"]),
                DestinationConfig={"OnFailure": {"Destination": queue_arn}})
            made.append(f"{name}->{queue_arn.rsplit(':', 1)[1]}")
        return made

    # The monitoring schedule (MonitoringPeriodHours) and the endpoint's alarms in the stack
    # (EndpointName; `deploy` then creates none, endpoint.deployment.alarms.create: false).
    stack_parameters = (f"BucketName={BUCKET}", f"MonitoringPeriodHours={MONITORING_HOURS}", f"EndpointName={ENDPOINT}",
                        "ArrivalJob=training")

    def _deliver_arrival(self, key: str, frame: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
        """Upload; read what S3 -> EventBridge delivers to a queue added to the deployed rule; run
        the data-arrival function from its package on it."""
        sqs, events = self.client("sqs"), self.client("events")
        rule = f"{STACK}-data-arrival"
        if "tap" not in self.state:
            url = sqs.create_queue(QueueName="aws-loop-data-arrival-tap")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            # moto stops at a Lambda target (an error its S3 -> EventBridge code swallows), so
            # the tap goes first and the deployed targets after it, unchanged.
            deployed = events.list_targets_by_rule(Rule=rule)["Targets"]
            events.remove_targets(Rule=rule, Ids=[target["Id"] for target in deployed])
            events.put_targets(Rule=rule, Targets=[{"Id": "aws-loop-tap", "Arn": arn}, *deployed])
            self.state["tap"] = url
        version = self.put_object(key, frame)
        messages = sqs.receive_message(QueueUrl=self.state["tap"], MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=self.state["tap"], ReceiptHandle=message["ReceiptHandle"])
        events_for_key = [json.loads(m["Body"]) for m in messages]
        mine = [e for e in events_for_key if e.get("detail", {}).get("object", {}).get("key") in (key, key.replace("/", "%2F"))]
        if len(mine) != 1:
            raise StageFailed(f"expected one Object Created event for {key} (version {version}), got {events_for_key}; "
                              f"rule {events.describe_rule(Name=rule)}, targets {events.list_targets_by_rule(Rule=rule)['Targets']}, "
                              f"notification {self.client('s3').get_bucket_notification_configuration(Bucket=self.bucket)}")
        event = mine[0]
        outcome = self._invoke(rule, event)
        return event, outcome

    def _code(self, name: str) -> Path:
        function = self.moto.lambda_read(self.admin, "get_function", FunctionName=name)["Configuration"]
        return self.lambda_runtime.code_folder(function, self.bucket, self.state["parameters"]["LambdaCodeKey"])

    def _invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        return self.lambda_runtime.invoke_async(name, event, self._code(name), say)

    def stage_3_arrival(self) -> str:
        assert self.moto and self.admin
        self.lambda_runtime = LambdaRuntime(self.moto, self.admin, self.workdir)
        # The user's first step on a new deployment (README): the curated training data under
        # 01_raw/, outside the watched prefix, where retraining reads it.
        upload = self.kedro("data", "upload", "--env", "aws")
        if upload.returncode != 0:
            raise StageFailed(f"kedro data upload failed:\n{upload.stdout[-3000:]}")
        credit = pd.read_csv(ROOT / "data" / "01_raw" / "credit_data.csv")
        # A first training table whose labels are shuffled: its model is no better than chance,
        # so the quality gate keeps it out, its score feeds the quality alarm, and retraining on
        # the curated training data follows.
        first = credit.iloc[:1200].copy()
        first["Status"] = first["Status"].sample(frac=1, random_state=7).to_numpy()
        self.credit = credit
        key = f"{PREFIX}/01_raw/new_data/training-table.csv"
        event, outcome = self._deliver_arrival(key, first)
        if not outcome["ok"] or not outcome["result"].get("started"):
            raise StageFailed(f"data-arrival did not start a job: {outcome}")
        [job] = outcome["result"]["started"]
        self.state["first_job"] = job
        return (f"s3://{self.bucket}/{key} -> EventBridge rule {STACK}-data-arrival (event key "
                f"{event['detail']['object']['key']!r}) -> handler from the package as {outcome['role']} "
                f"-> started training job {job}")

    def stage_4_jobs(self) -> str:
        """The first job runs and its quality gate refuses the model; its scores are published."""
        assert self.moto and self.admin
        self.executor = JobExecutor(self.moto, self.admin, say, self.image_for_jobs, self.workdir)
        pending = self.executor.pending()
        if [name for _, name in pending] != [self.state["first_job"]]:
            raise StageFailed(f"moto holds {pending}, expected only {self.state['first_job']}")
        description = self.executor.run(*pending[0])
        reason = description.get("FailureReason") or ""
        if description["TrainingJobStatus"] != "Failed" or "quality gate rejected" not in reason:
            raise StageFailed(f"{pending[0][1]} on shuffled labels should fail its quality gate: "
                              f"{description['TrainingJobStatus']} {reason}")
        if description.get("ModelArtifacts", {}).get("S3ModelArtifacts"):
            raise StageFailed(f"{pending[0][1]} was refused but left a model: {description['ModelArtifacts']}")
        published = self._published(f"{STACK}-model-quality")
        if not published:
            raise StageFailed(f"{pending[0][1]} published nothing the {STACK}-model-quality alarm watches")
        described = self.client("sagemaker").describe_training_job(TrainingJobName=pending[0][1])
        return (f"{pending[0][1]} ran in the image {description['AlgorithmSpecification']['TrainingImage']} as "
                f"{description['role']} in {description['seconds']} s: {described['TrainingJobStatus']} "
                f"({reason.split(': ', 1)[-1][:90]}...), no model; published from the container what "
                f"{STACK}-model-quality watches: {published[0]:.3f}")

    def _published(self, alarm_name: str) -> list[float]:
        """The values the jobs put in CloudWatch for the metric the stack's alarm ``alarm_name`` watches."""
        [alarm] = [a for a in self._alarms() if a["AlarmName"] == alarm_name]
        now = datetime.now(UTC)
        result = self.client("cloudwatch").get_metric_data(
            MetricDataQueries=[{"Id": "m", "ReturnData": True, "MetricStat": {
                "Period": 60, "Stat": "Minimum",
                "Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                           "Dimensions": alarm["Dimensions"]}}}],
            StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1))
        return result["MetricDataResults"][0]["Values"]

    def _alarms(self) -> list[dict[str, Any]]:
        """The stack's alarms, created from the template with the stack's parameters (moto's
        CloudFormation skips AWS::CloudWatch::Alarm)."""
        from cfnlint.decode import decode_str

        template, problems = decode_str((self.project / "infra" / "stack.yml").read_text())
        if problems:
            raise StageFailed(f"infra/stack.yml: {problems}")
        values = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
        values |= self.state["parameters"] | {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                    self.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]}

        def resolve(value: Any) -> Any:
            if isinstance(value, dict) and "Ref" in value:
                return values[value["Ref"]]
            if isinstance(value, dict) and "Fn::GetAtt" in value:
                logical, attribute = value["Fn::GetAtt"]
                if attribute != "QueueName":
                    raise StageFailed(f"the harness resolves no Fn::GetAtt {logical}.{attribute}")
                return physical[logical].rsplit("/", 1)[1]  # a queue's physical id is its URL
            if isinstance(value, dict) and "Fn::Sub" in value:
                text = value["Fn::Sub"]
                for name, item in values.items():
                    text = text.replace("${" + name + "}", item)
                return text
            return value

        cloudwatch = self.client("cloudwatch")
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::CloudWatch::Alarm":
                continue
            if resource.get("Condition") == "HasEndpoint" and not values["EndpointName"]:
                continue  # the endpoint's alarms: this stack does not own the endpoint
            properties = resource["Properties"]
            request = {
                "AlarmName": resolve(properties["AlarmName"]), "Namespace": resolve(properties["Namespace"]),
                "MetricName": resolve(properties["MetricName"]), "Statistic": properties["Statistic"],
                "Period": int(resolve(properties["Period"])), "EvaluationPeriods": int(resolve(properties["EvaluationPeriods"])),
                "Threshold": float(resolve(properties["Threshold"])), "ComparisonOperator": properties["ComparisonOperator"],
                "TreatMissingData": properties.get("TreatMissingData", "missing"),
                "Dimensions": [{"Name": d["Name"], "Value": resolve(d["Value"])} for d in properties.get("Dimensions", [])],
            }
            if not cloudwatch.describe_alarms(AlarmNames=[request["AlarmName"]])["MetricAlarms"]:
                cloudwatch.put_metric_alarm(**request)
        return cloudwatch.describe_alarms()["MetricAlarms"]

    def _evaluate_and_route(self) -> tuple[list[str], list[dict[str, Any]]]:
        """Evaluate every alarm; each state change event matched against the deployed retraining
        rule and, on a match, handed to the retraining function. (summary, outcomes)"""
        events = self.client("events")
        rule = events.describe_rule(Name=f"{STACK}-retraining")
        evaluator = AlarmEvaluator(self.client("cloudwatch"))
        summary, outcomes = [], []
        for alarm in self._alarms():
            state, reason, values = evaluator.evaluate(alarm)
            event = evaluator.set_state(alarm, state, reason)
            shown = ",".join(f"{v:.3f}" for v in values) or "-"
            if event is None:
                summary.append(f"{alarm['AlarmName']}={state}[{shown}] (unchanged)")
                continue
            matched = matches(rule["EventPattern"], event)
            summary.append(f"{alarm['AlarmName']}={state}[{shown}] rule {'matches' if matched else 'does not match'}")
            if matched:
                outcomes.append(self._invoke(f"{STACK}-retraining", event))
        return summary, outcomes

    def stage_5_alarms(self) -> str:
        summary, outcomes = self._evaluate_and_route()
        started = [o for o in outcomes if o["ok"] and o["result"].get("status") == "started"]
        if len(started) != 1:
            raise StageFailed(f"expected one retraining started; alarms: {summary}; handler: {outcomes}")
        self.state["retrain_job"] = started[0]["result"]["job"]
        return f"{'; '.join(summary)} -> retraining handler as {started[0]['role']} started {self.state['retrain_job']}"

    def stage_6_retraining(self) -> str:
        pending = self.executor.pending()
        if [name for _, name in pending] != [self.state["retrain_job"]]:
            raise StageFailed(f"moto holds {pending}, expected only {self.state['retrain_job']}")
        description = self.executor.run(*pending[0])
        if description["TrainingJobStatus"] != "Completed":
            raise StageFailed(f"{pending[0][1]}: {description.get('FailureReason')}")
        from ml_on_aws.sagemaker.models import newest_model

        model = description["ModelArtifacts"]["S3ModelArtifacts"]
        newest = newest_model(self.client("s3"), f"s3://{self.bucket}/{PREFIX}/sagemaker/training")
        if newest != model:
            raise StageFailed(f"newest model {newest}, retraining wrote {model}")
        self.state["model"] = model
        metrics = {m["MetricName"]: round(m["Value"], 3) for m in description["FinalMetricDataList"]}
        summary, _ = self._evaluate_and_route()
        return f"{pending[0][1]} in {description['seconds']} s: new model version {model} {metrics}; alarms now {'; '.join(summary)}"

    def stage_7_scoring(self) -> str:
        kept = [p for p in self.stack_parameters[1:] if not p.startswith("ArrivalJob=")]
        out = self._deploy_stack(*kept, "ArrivalJob=processing")
        variables = self.moto.lambda_read(self.admin, "get_function", FunctionName=f"{STACK}-data-arrival")["Configuration"]["Environment"]["Variables"]
        if variables["ARRIVAL_JOB"] != "processing":
            raise StageFailed(f"the stack update left ARRIVAL_JOB={variables['ARRIVAL_JOB']}:\n{out[-1500:]}")
        batch = self.credit.iloc[3000:3400].drop(columns=["Status"])
        key = f"{PREFIX}/01_raw/new_data/batch-1.csv"
        _, outcome = self._deliver_arrival(key, batch)
        if not outcome["ok"] or not outcome["result"].get("started"):
            raise StageFailed(f"data-arrival did not start a scoring job: {outcome}")
        [job] = outcome["result"]["started"]
        pending = self.executor.pending()
        if [name for _, name in pending] != [job]:
            raise StageFailed(f"moto holds {pending}, expected only {job}")
        _, request = self.moto.recorder.get(job)
        count = request["ProcessingResources"]["ClusterConfig"]["InstanceCount"]
        distribution = {i["InputName"]: i["S3Input"]["S3DataDistributionType"] for i in request["ProcessingInputs"]}
        description = self.executor.run(*pending[0])
        if description["ProcessingJobStatus"] != "Completed":
            raise StageFailed(f"{job}: {description.get('FailureReason')}")
        [output] = request["ProcessingOutputConfig"]["Outputs"]
        out_prefix = output["S3Output"]["S3Uri"].removeprefix(f"s3://{self.bucket}/")
        keys = [o["Key"] for o in self.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=out_prefix).get("Contents", [])]
        scored = [k for k in keys if k.endswith(".csv")]
        rows = sum(len(pd.read_csv(self.client("s3").get_object(Bucket=self.bucket, Key=k)["Body"])) for k in scored)
        if rows != len(batch):
            raise StageFailed(f"{job}: {rows} rows scored of {len(batch)}; outputs {keys}")
        model = next(i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"] if i["InputName"] == "model")
        return (f"stack updated (ArrivalJob=processing); s3://{self.bucket}/{key} -> {job} on {count} instances, "
                f"inputs {distribution}, 1 file: Completed in {description['seconds']} s, {rows} rows scored into "
                f"{scored} with {model}")

    def stage_8_deploy(self) -> str:
        env = self.env(ML_ON_AWS_BUCKET=self.bucket, ML_ON_AWS_SAGEMAKER_ROLE_ARN=self.role_arn,
                       ML_ON_AWS_IMAGE_URI=self.image_uri)
        first = self.kedro("sagemaker", "deploy", env=env)
        if first.returncode != 0 or "Creating endpoint" not in first.stdout:
            raise StageFailed(f"the first deploy failed:\n{first.stdout[-3000:]}")
        second = self.kedro("sagemaker", "deploy", env=env)
        if second.returncode != 0 or "Updating endpoint" not in second.stdout:
            raise StageFailed(f"the second deploy did not update the endpoint:\n{second.stdout[-3000:]}")
        sagemaker = self.client("sagemaker")
        configs = sorted(sagemaker.list_endpoint_configs()["EndpointConfigs"], key=lambda c: c["CreationTime"])
        endpoint = sagemaker.describe_endpoint(EndpointName="ml-on-aws")
        if len(configs) != 2 or endpoint["EndpointConfigName"] != configs[-1]["EndpointConfigName"]:
            raise StageFailed(f"the endpoint uses {endpoint['EndpointConfigName']}, configs {configs}")
        newest_config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        # The endpoint's instance, kept serving for the live traffic of stage 9.
        self.endpoint = Endpoint(self.moto, self.admin, ENDPOINT, self.image_for_jobs, port=18080)
        if self.endpoint.config["EndpointConfigName"] != newest_config["EndpointConfigName"]:
            raise StageFailed(f"the endpoint double serves {self.endpoint.config['EndpointConfigName']}")
        if not self.endpoint.start():
            raise StageFailed(f"the served container did not answer /ping ({self.endpoint.container})")
        with urllib.request.urlopen(f"{self.endpoint.url}/ping", timeout=10) as response:
            ping = response.status
        rows = self.credit.iloc[3500:3505].drop(columns=["Status"]).to_csv(index=False).encode()
        status, _, body = self.endpoint.invoke(rows, "text/csv", accept="text/csv")
        answer = body.decode().strip().splitlines()
        if status != 200 or len(answer) != 6 or not answer[0].startswith("prediction"):
            raise StageFailed(f"5 CSV rows were answered with {status} {answer}")
        served = self.endpoint.model["PrimaryContainer"]["ModelDataUrl"]
        if served != self.state["model"]:
            raise StageFailed(f"the endpoint serves {served}, not the newest model {self.state['model']}")
        capture = self.endpoint.capture or {}
        return (f"endpoint {endpoint['EndpointName']} created, then updated to {endpoint['EndpointConfigName']} "
                f"({endpoint['EndpointStatus']}); its model {self.endpoint.container} served from {served}; "
                f"/ping {ping}; CSV of 5 rows -> {len(answer)} lines, first {answer[:2]}; data capture "
                f"{capture.get('InitialSamplingPercentage', 'off')}% to {capture.get('DestinationS3Uri')}")

    def stage_9_monitoring(self) -> str:
        """Live traffic -> capture files in S3 -> the scheduled monitoring job -> metrics and alarms."""
        assert self.moto and self.admin and self.endpoint
        import make_capture_sample as sample  # scripts/: requests in every format the server reads

        if not self.endpoint.capture:
            raise StageFailed(f"the endpoint config {self.endpoint.config['EndpointConfigName']} captures nothing "
                              "(endpoint.data_capture of conf/aws/sagemaker.yml)")
        # The traffic: applicants aged 50 or more (16% of the training data), labelled later by
        # InferenceId: the population changed, which the drift checks must see. (The rows come from
        # the training table, the only labelled data: the live quality is an optimistic one.)
        rows = self.credit[self.credit["Age"] >= LIVE_AGE].sample(LIVE_ROWS, random_state=11)
        exchanges = sample.mixed_requests(rows.drop(columns=["Status"]), id_prefix="live")
        refused = [status for status, _, _ in (self.endpoint.invoke(e.body, e.content_type, e.accept, e.inference_id)
                                               for e in exchanges) if status != 200]
        if refused:
            raise StageFailed(f"the endpoint refused {len(refused)} of {len(exchanges)} requests: {refused[:5]}")
        captured = self.endpoint.flush()
        self.endpoint.stop()
        # What the deployment's monitoring job reads: the configuration packaged for the functions.
        function = f"{STACK}-monitoring-schedule"
        config = json.loads((self._code(function) / "sagemaker_config.json").read_text())
        inputs = config["processing"]["pipelines"]["monitoring"]["inputs"]
        destination = (self.endpoint.capture or {}).get("DestinationS3Uri", "")
        if inputs["captured_data"]["s3_uri"].rstrip("/") != destination.rstrip("/"):
            raise StageFailed(f"the endpoint captures to {destination}, the monitoring job reads {inputs['captured_data']}")
        labels = sample.labels_of(rows, "Status", id_prefix="live")
        self._put_uri(inputs["ground_truth_labels"]["s3_uri"], labels.to_csv(index=False).encode())
        # EventBridge's scheduled event, at the first whole minute after the traffic.
        when = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        rule = self.client("events").describe_rule(Name=function)
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": ACCOUNT, "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": REGION,
                 "resources": [rule["Arn"]], "detail": {}}
        outcome = self._invoke(function, event)
        if not outcome["ok"] or outcome["result"].get("status") != "started":
            raise StageFailed(f"the monitoring-schedule function started no job: {outcome}")
        job = outcome["result"]["job"]
        pending = self.executor.pending()
        if [name for _, name in pending] != [job]:
            raise StageFailed(f"moto holds {pending}, expected only {job}")
        _, request = self.moto.recorder.get(job)
        description = self.executor.run(*pending[0])
        if description["ProcessingJobStatus"] != "Completed":
            raise StageFailed(f"{job}: {description.get('FailureReason')}")
        [output] = request["ProcessingOutputConfig"]["Outputs"]
        report = json.loads(self._get_uri(f"{output['S3Output']['S3Uri'].rstrip('/')}/monitoring_report.json"))
        sent = LIVE_ROWS + 5  # with stage 8's request, in the window too
        if (report["rows"], report["labelled_rows"], report["unparsed_records"]) != (sent, len(labels), 0):
            raise StageFailed(f"{job}: the report counts {report['rows']} rows, {report['labelled_rows']} labelled, "
                              f"{report['unparsed_records']} unparsed; sent {sent} rows, {len(labels)} labels")
        if report["retrain"] != 1:
            raise StageFailed(f"{job}: traffic of applicants aged {LIVE_AGE}+ was not found drifted: {report['reasons']}")
        quality = self.state["parameters"].get("LiveQualityMetricName", "live_roc_auc")
        published = {"drift_retrain_signal": self._published(f"{STACK}-drift"), quality: self._published(f"{ENDPOINT}-live-quality"),
                     "live_records": self._metric("live_records")}
        expected = {"drift_retrain_signal": report["retrain"], quality: report["live_metrics"][quality.removeprefix("live_")],
                    "live_records": report["records"]}
        if any(not values or abs(values[0] - expected[name]) > 1e-6 for name, values in published.items()):
            raise StageFailed(f"{job} published {published} to CloudWatch, its report says {expected}")
        summary, outcomes = self._evaluate_and_route()
        started = {o["result"]["alarm"]: o["result"]["job"] for o in outcomes if o["ok"] and o["result"].get("status") == "started"}
        if f"{STACK}-drift" not in started:
            raise StageFailed(f"the drift alarm started no retraining; alarms: {summary}; handler: {outcomes}")
        return (f"{len(exchanges)} requests ({LIVE_ROWS} rows) -> capture {[key.removeprefix(destination) for key in captured]} "
                f"under {destination}; labels put where the packaged configuration names them (the reference rows and "
                f"test predictions come inside the model); scheduled event {event['time']} -> {function} as "
                f"{outcome['role'].rsplit('/', 1)[-1]} started {job} ({request['AppSpecification'].get('ContainerArguments')}); "
                f"executor: Completed in {description['seconds']} s: verdict {report['verdict']}, drifted "
                f"{report['drifted_columns']}, {quality} {expected[quality]:.3f} on {report['labelled_rows']} labels; "
                f"CloudWatch {({name: round(values[0], 3) for name, values in published.items()})}; alarms: {'; '.join(summary)} "
                f"-> retraining {started}")

    def _metric(self, name: str) -> list[float]:
        """A metric the jobs put in CloudWatch with the dimensions the stack's alarms watch."""
        parameters = self.state["parameters"]
        dimensions = [{"Name": "ModelName", "Value": parameters.get("MetricModelName", "ml-on-aws")},
                      {"Name": "Environment", "Value": parameters.get("MetricEnvironment", "aws")},
                      {"Name": "Dataset", "Value": parameters.get("MetricDataset", "raw_data")}]
        now = datetime.now(UTC)
        result = self.client("cloudwatch").get_metric_data(
            MetricDataQueries=[{"Id": "m", "ReturnData": True, "MetricStat": {
                "Period": 60, "Stat": "Maximum",
                "Metric": {"Namespace": parameters.get("MetricNamespace", "MlOnAws"), "MetricName": name,
                           "Dimensions": dimensions}}}],
            StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1))
        return result["MetricDataResults"][0]["Values"]

    def _put_uri(self, uri: str, body: bytes) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=body)

    def _get_uri(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()

    def stage_10_failed_events(self) -> str:
        assert self.moto
        batch = self.credit.iloc[3600:3700].drop(columns=["Status"])
        key = f"{PREFIX}/01_raw/new_data/batch-throttled.csv"
        with self.moto.throttle("CreateProcessingJob"):
            _, outcome = self._deliver_arrival(key, batch)
        if outcome["ok"] or not outcome.get("destination"):
            raise StageFailed(f"the throttled arrival did not end on a destination: {outcome}")
        sqs = self.client("sqs")
        messages = sqs.receive_message(QueueUrl=outcome["queue_url"], WaitTimeSeconds=2).get("Messages", [])
        records = [json.loads(m["Body"]) for m in messages]
        mine = [r for r in records if r["requestPayload"]["detail"]["object"]["key"] in (key, key.replace("/", "%2F"))]
        if len(mine) != 1:
            raise StageFailed(f"FailedEventsQueue holds {records}")
        record = mine[0]
        outputs = self.outputs()
        if outputs["FailedEventsQueueUrl"].rsplit("/", 1)[1] != outcome["queue_url"].rsplit("/", 1)[1]:
            raise StageFailed(f"the destination {outcome['destination']} is not the stack's FailedEventsQueue")
        return (f"s3://{self.bucket}/{key} with CreateProcessingJob throttled: {outcome['attempts']} attempts, "
                f"{record['responsePayload']['errorType']}: {record['responsePayload']['errorMessage'][:90]!r} -> "
                f"on-failure record ({record['requestContext']['condition']}) in {outcome['destination']}")

    STAGES: tuple[tuple[str, Callable[[Loop], str]], ...] = ()


Loop.STAGES = (
    ("1 services", Loop.stage_1_services),
    ("2 push-image, deploy-stack (twice)", Loop.stage_2_push_and_deploy),
    ("3 data arrival", Loop.stage_3_arrival),
    ("4 job executor", Loop.stage_4_jobs),
    ("5 alarms -> retraining", Loop.stage_5_alarms),
    ("6 retraining job", Loop.stage_6_retraining),
    ("7 sharded scoring", Loop.stage_7_scoring),
    ("8 deploy and serve", Loop.stage_8_deploy),
    ("9 live traffic -> monitoring job -> metrics, alarms", Loop.stage_9_monitoring),
    ("10 failed event", Loop.stage_10_failed_events),
)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    last = int(args[args.index("--until") + 1]) if "--until" in args else len(Loop.STAGES)
    workdir = Path(tempfile.mkdtemp(prefix="aws-loop-"))
    say(f"aws-loop: work folder {workdir} (logs: kedro.log)")
    loop = Loop(workdir)
    started = time.monotonic()
    code = 0
    try:
        for title, stage in Loop.STAGES[:last]:
            t0 = time.monotonic()
            try:
                evidence = stage(loop)
            except Exception as error:  # noqa: BLE001 - report the stage and stop
                detail = str(error) if isinstance(error, StageFailed) else traceback.format_exc()
                say(f"FAIL stage {title} after {time.monotonic() - t0:.0f} s: {detail}")
                code = 1
                break
            say(f"ok   stage {title} ({time.monotonic() - t0:.0f} s): {evidence}")
    finally:
        loop.close()
    say(f"aws-loop: {'passed' if code == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s")
    if code == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    return code
