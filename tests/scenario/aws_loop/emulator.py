"""AWS on this machine for the loop: moto's server with IAM enforced, plus what moto lacks.

Everything here is a test double or a patch of moto's server, which runs in this process
(``ThreadedMotoServer`` on 127.0.0.1); each says what it stands in for:

- :func:`start_moto`: moto with ``INITIAL_NO_AUTH_ACTION_COUNT`` set, so that after the bootstrap
  requests (an admin user for the laptop side) every request is signed and checked against the
  caller's IAM policies, including the policies of roles assumed through STS.
- :func:`patch_sagemaker_resource_arns`: moto checks non-S3 actions against the resource ``*`` only, so a
  statement scoped to ``training-job/ml-on-aws-*`` (as the stack's least-privilege roles are)
  never matches. The patch gives SageMaker requests the ARN AWS evaluates them on
  (``arn:aws:sagemaker:<region>:<account>:<kind>/<name>``): enforcement gets stricter, not looser.
- :func:`patch_iam`: moto's CloudFormation stores a role's inline ``Policies`` as parsed
  documents, which its IAM check cannot read (HTTP 500, ``KeyError: 'policy_document'`` in
  ``moto/iam/access_control.py``); ``put_role_policy`` stores JSON text. The patch stores the
  template's documents as the JSON text IAM keeps, so the stack's roles are checked like any other.
- :func:`patch_iam` also names actions as IAM does: moto builds the action from the request's
  signing name, so CloudWatch's ``PutMetricData`` is checked as ``monitoring:PutMetricData``,
  which no policy grants; IAM's action is ``cloudwatch:PutMetricData``.
- :class:`RequestRecorder`: moto's ``describe_training_job`` / ``describe_processing_job`` omit
  ``Environment`` and ``ProcessingResources`` (moto does not keep them); AWS returns them. The
  recorder keeps each ``create_*`` request as moto received it, so the job executor can run the
  job AWS would describe.
- :meth:`Moto.as_service`: the harness playing an AWS service (Lambda, SageMaker) that assumes a
  role its trust policy names: moto cannot sign as a service principal, so after checking the
  trust policy the next request (the ``AssumeRole``) is let through unsigned-checked.
- :meth:`Moto.lambda_read`: moto answers signed GETs of its Lambda API with
  SignatureDoesNotMatch under IAM enforcement; the harness's reads of the functions' settings
  (as Lambda itself reads them) go through unchecked, one request at a time.
- :meth:`Moto.throttle`: SageMaker answering ``ThrottlingException`` to one operation, as AWS does
  over its request rate.
- ``UpdateEndpoint`` (moto 5.2.5 does not implement it): the endpoint takes the named endpoint
  config's variants, as SageMaker does once an update completes (it refuses a config that does
  not exist, like ``CreateEndpoint``).
- :meth:`Moto.set_job_result`: SageMaker's job status after the run (moto marks every job
  Completed at once and has no API to set one).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
# The bootstrap requests made without signature checks: create_user, put_user_policy, create_access_key.
BOOTSTRAP_REQUESTS = 3
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# Signing names whose IAM action prefix differs (moto checks actions under the signing name).
_IAM_PREFIXES = {"monitoring": "cloudwatch"}
_JOB_KINDS = {  # request parameter naming the resource -> ARN resource type
    "TrainingJobName": "training-job",
    "ProcessingJobName": "processing-job",
    "TransformJobName": "transform-job",
    "EndpointName": "endpoint",
    "EndpointConfigName": "endpoint-config",
    "ModelName": "model",
}


@dataclass
class RequestRecorder:
    """The ``create_*_job`` requests moto's SageMaker received, by job name (see the module doc)."""

    requests: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, name: str, params: dict[str, Any]) -> None:
        with self.lock:
            self.requests[name] = (operation, json.loads(json.dumps(params, default=str)))

    def get(self, name: str) -> tuple[str, dict[str, Any]]:
        with self.lock:
            return self.requests[name]


@dataclass
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None
    arn: str = ""

    def environment(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        if self.token:
            env["AWS_SESSION_TOKEN"] = self.token
        return env

    def client(self, service: str, endpoint: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, aws_session_token=self.token)


class Moto:
    """moto's server on 127.0.0.1 with IAM enforced once :meth:`bootstrap_admin` has run."""

    def __init__(self) -> None:
        # Read by moto.settings at import: the first N requests are free, the rest are checked.
        os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(BOOTSTRAP_REQUESTS)
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin
        from moto.server import ThreadedMotoServer

        settings.INITIAL_NO_AUTH_ACTION_COUNT = float(BOOTSTRAP_REQUESTS)
        ActionAuthenticatorMixin.request_count = 0
        self._settings, self._counter = settings, ActionAuthenticatorMixin
        self.recorder = RequestRecorder()
        self.throttled: set[str] = set()
        self._service_lock = threading.Lock()
        patch_iam()
        _patch_sagemaker(self)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.stop()

    def bootstrap_admin(self) -> Credentials:
        """The laptop's identity: an IAM user allowed everything, made with the free requests."""
        import boto3

        iam = boto3.client("iam", region_name=REGION, endpoint_url=self.endpoint,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="aws-loop-admin")
        iam.put_user_policy(UserName="aws-loop-admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="aws-loop-admin")["AccessKey"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"], arn=f"arn:aws:iam::{ACCOUNT}:user/aws-loop-admin")

    def enforced(self) -> bool:
        return self._counter.request_count >= self._settings.INITIAL_NO_AUTH_ACTION_COUNT

    def as_service(self, admin: Credentials, role_arn: str, service: str, session: str) -> Credentials:
        """Credentials of ``role_arn`` as ``service`` (e.g. lambda.amazonaws.com) gets them, after
        checking that the role's trust policy lets that service assume it."""
        iam = admin.client("iam", self.endpoint)
        trust = iam.get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]["AssumeRolePolicyDocument"]
        if isinstance(trust, str):
            trust = json.loads(trust)
        services = [s["Principal"].get("Service") for s in trust["Statement"]
                    if s.get("Effect") == "Allow" and "sts:AssumeRole" in str(s.get("Action"))]
        if not any(service == name or (isinstance(name, list) and service in name) for name in services):
            raise PermissionError(f"{role_arn}: its trust policy does not let {service} assume it ({services})")
        sts = admin.client("sts", self.endpoint)
        with self._service_lock:
            # The next request (this AssumeRole) is the service's: moto cannot sign as a service principal.
            self._settings.INITIAL_NO_AUTH_ACTION_COUNT = float(self._counter.request_count + 1)
            try:
                got = sts.assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
            finally:
                self._counter.request_count = int(self._settings.INITIAL_NO_AUTH_ACTION_COUNT)
        return Credentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"],
                           arn=f"{role_arn.replace(':role/', ':assumed-role/')}/{session}")

    def lambda_read(self, admin: Credentials, operation: str, **kwargs: Any) -> Any:
        """One read of Lambda's API (``get_function``...) as the Lambda service makes it internally.
        moto 5.2.5 answers every signed GET of its Lambda API with SignatureDoesNotMatch once IAM is
        enforced (its PUTs and POSTs verify), so this one request is let through unchecked."""
        client = admin.client("lambda", self.endpoint)
        with self._service_lock:
            self._settings.INITIAL_NO_AUTH_ACTION_COUNT = float(self._counter.request_count + 1)
            try:
                return getattr(client, operation)(**kwargs)
            finally:
                self._counter.request_count = int(self._settings.INITIAL_NO_AUTH_ACTION_COUNT)

    @contextlib.contextmanager
    def throttle(self, operation: str) -> Iterator[None]:
        """SageMaker answers ThrottlingException to ``operation`` (e.g. CreateProcessingJob) meanwhile."""
        self.throttled.add(operation)
        try:
            yield
        finally:
            self.throttled.discard(operation)

    def set_job_result(self, kind: str, name: str, description: dict[str, Any]) -> None:
        """Give moto's record of the job the end state the run reached (status, model, metrics)."""
        from moto.sagemaker.models import sagemaker_backends

        backend = sagemaker_backends[ACCOUNT][REGION]
        if kind == "training":
            job = backend.training_jobs[name]
            job.training_job_status = description["TrainingJobStatus"]
            job.secondary_status = description["TrainingJobStatus"]
            if "ModelArtifacts" in description:
                job.model_artifacts = description["ModelArtifacts"]
            job.final_metric_data_list = description.get("FinalMetricDataList", [])
            job.failure_reason = description.get("FailureReason")
        else:
            job = backend.processing_jobs[name]
            job.processing_job_status = description["ProcessingJobStatus"]
            job.failure_reason = description.get("FailureReason")
            job.exit_message = description.get("ExitMessage")


def patch_iam() -> None:
    """Inline role policies kept as JSON text whoever puts them; actions named with IAM's
    service prefix, not the signing name (module doc)."""
    from moto.iam.access_control import IAMRequestBase
    from moto.iam.models import Role

    if getattr(Role.put_policy, "aws_loop_patch", False):
        return
    original_init = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        service, _, action = self._action.partition(":")
        self._action = f"{_IAM_PREFIXES.get(service, service)}:{action}"

    IAMRequestBase.__init__ = init
    original = Role.put_policy

    def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
        original(self, policy_name, policy_json if isinstance(policy_json, str) else json.dumps(policy_json))

    put_policy.aws_loop_patch = True  # type: ignore[attr-defined]
    Role.put_policy = put_policy


def update_endpoint(self: Any) -> Any:
    """``UpdateEndpoint`` for moto's ``SageMakerResponse`` (moto 5.2.5 has none): the endpoint takes
    the named endpoint config's variants, as SageMaker does once an update completes; a config
    that does not exist is refused, as by ``CreateEndpoint``. The ``DeploymentConfig`` is not kept."""
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    backend = self.sagemaker_backend
    name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise JsonRESTError("ValidationException", f"Could not find endpoint '{name}'.")
    try:
        config = backend.describe_endpoint_config(config_name)
    except Exception as error:  # moto raises its ValidationError: let it answer as AWS would
        raise JsonRESTError("ValidationException", f"Could not find endpoint configuration '{config_name}'.") from error
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.data_capture_config = config.get("DataCaptureConfig")
    endpoint.last_modified_time = utcnow()
    return ActionResult({"EndpointArn": endpoint.arn})


def patch_sagemaker_resource_arns() -> None:
    """SageMaker requests checked against the ARN of the resource they name (module doc); the
    in-process moto of the pytest session applies it too (tests/aws/events/test_monitoring_schedule.py)."""
    from moto.sagemaker.responses import SageMakerResponse

    def determine_resource(self: Any) -> str:
        action = self._get_action()
        for parameter, kind in _JOB_KINDS.items():
            name = self._get_param(parameter)
            if isinstance(name, str) and name and not action.startswith("List"):
                return f"arn:aws:sagemaker:{self.region}:{self.current_account}:{kind}/{name.lower()}"
        return "*"

    SageMakerResponse._determine_resource = determine_resource


def _patch_sagemaker(moto: Moto) -> None:
    """Resource ARNs for SageMaker's IAM checks, the request recorder and throttling (module doc)."""
    from moto.core.exceptions import JsonRESTError
    from moto.sagemaker.responses import SageMakerResponse

    patch_sagemaker_resource_arns()

    class _Throttled(JsonRESTError):
        code = 400

        def __init__(self, action: str) -> None:
            super().__init__("ThrottlingException", f"Rate exceeded ({action}, throttled by the aws-loop harness)")

    SageMakerResponse.update_endpoint = update_endpoint

    for operation, name_key in (("create_training_job", "TrainingJobName"), ("create_processing_job", "ProcessingJobName")):
        original = getattr(SageMakerResponse, operation)

        def recorded(self: Any, _original: Any = original, _operation: str = operation, _key: str = name_key) -> Any:
            action = self._get_action()
            if action in moto.throttled:  # raised inside the operation: moto answers it as AWS would
                raise _Throttled(action)
            result = _original(self)
            moto.recorder.record(_operation, self._get_param(_key), json.loads(self.body))
            return result

        setattr(SageMakerResponse, operation, recorded)

