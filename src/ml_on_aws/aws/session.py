"""What the project says about its AWS connection: where requests go, which credentials, how often retried.

Credentials always come from the standard AWS chain (environment, profile, SSO, instance or task
role); nothing here reads or stores a secret. The endpoint override is the standard one, which
boto3, s3fs (the catalog) and MLflow's artifact store all resolve by themselves, so no client is
given an ``endpoint_url`` by the project:

- ``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_S3``) for one service,
- ``AWS_ENDPOINT_URL`` for every service,
- ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` turns both off.

This module only names them in messages (:func:`describe_endpoint`).
"""

from __future__ import annotations

import os

import boto3
from botocore.client import BaseClient

# botocore's defaults when AWS_RETRY_MODE / AWS_MAX_ATTEMPTS are not set.
_DEFAULT_ATTEMPTS = {"legacy": 5, "standard": 3, "adaptive": 3}


def endpoint_variable(service: str = "s3") -> str | None:
    """The name of the environment variable that sets the endpoint for ``service``, if any."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    specific = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_").replace(" ", "_")
    for name in (specific, "AWS_ENDPOINT_URL"):
        if os.environ.get(name):
            return name
    return None


def describe_endpoint(service: str = "s3") -> str:
    """Where requests for ``service`` go, in words a user can act on."""
    name = endpoint_variable(service)
    if name:
        return f"{os.environ[name]} (from {name})"
    region = boto3.session.Session().region_name or "no region configured"
    return f"the AWS {service} endpoint of region {region}"


def retry_attempts(boto_client: BaseClient) -> int:
    """How many attempts botocore makes per request with this client's configuration."""
    retries = boto_client.meta.config.retries or {}
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    if "max_attempts" in retries:
        return int(retries["max_attempts"]) + 1
    return _DEFAULT_ATTEMPTS.get(retries.get("mode", "legacy"), 3)


def credentials_source() -> str:
    """Where the AWS chain found credentials (e.g. 'env', 'shared-credentials-file'), for messages."""
    credentials = boto3.session.Session().get_credentials()
    if credentials is None:
        return "none found"
    key = credentials.access_key or ""
    return f"{credentials.method} (access key ...{key[-4:]})"
