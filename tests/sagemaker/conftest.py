"""AWS for the SageMaker tests: moto's server on 127.0.0.1, and a tripwire that counts any request."""

from __future__ import annotations

import copy
import http.server
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/MlOnAwsSageMaker"
BUCKET = "ml-on-aws-test"
IMAGE_URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/ml-on-aws:0123456789ab"

# The variables conf/aws/sagemaker.yml reads.
SAGEMAKER_ENV = {
    "AWS_REGION": REGION,
    "ML_ON_AWS_SAGEMAKER_ROLE_ARN": ROLE_ARN,
    "ML_ON_AWS_BUCKET": BUCKET,
    "ML_ON_AWS_PREFIX": "project",
    "ML_ON_AWS_IMAGE_URI": IMAGE_URI,
}


def _aws_credentials(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in SAGEMAKER_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's server, emptied, as the endpoint of every boto3 client; the SageMaker variables set."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    _aws_credentials(monkeypatch, moto_endpoint)
    return moto_endpoint


class _Tripwire(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def _record(self) -> None:
        type(self).requests.append(f"{self.command} {self.path} {self.headers.get('X-Amz-Target', '')}")
        self.send_response(500)
        self.end_headers()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _record

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def tripwire(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """An AWS endpoint that records every request it gets: a test asserts it stays empty."""
    _Tripwire.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tripwire)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _aws_credentials(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    yield _Tripwire.requests
    server.shutdown()


@pytest.fixture(scope="session", autouse=True)
def _project_settings() -> None:
    """The config loader of the project (settings.py), as `kedro` sets it up."""
    from kedro.framework.project import configure_project

    configure_project("ml_on_aws")


def record_calls(events: object) -> list[tuple[str, dict]]:
    """Record ``(operation, parameters)`` of every call made through clients that use
    ``events`` (a client's ``meta.events`` or a boto3 session's ``events``). The calls still
    go to the server; this only keeps what moto does not store (e.g. metric definitions)."""
    calls: list[tuple[str, dict]] = []

    def record(params: dict, model: object, **_: object) -> None:
        calls.append((model.name, copy.deepcopy(params)))

    events.register("before-parameter-build", record)
    return calls


def sent(calls: list[tuple[str, dict]], operation: str) -> dict:
    """The parameters of the one call of ``operation``."""
    [params] = [params for name, params in calls if name == operation]
    return params
