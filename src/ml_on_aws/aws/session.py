"""boto3 clients for the whole project, honouring an S3-compatible endpoint override.

Credentials always come from the standard AWS chain (environment, profile, SSO, instance or task
role); nothing here reads or stores a secret. The endpoint override uses the standard variables,
so boto3, s3fs (the catalog) and MLflow's artifact store all agree on where "S3" is:

- ``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_S3``) for one service,
- ``AWS_ENDPOINT_URL`` for every service,
- ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` turns both off.

Other modules build their clients with :func:`client` rather than ``boto3.client`` so that error
messages can name the endpoint actually used (see :func:`describe_endpoint`).
"""

from __future__ import annotations

import os
from typing import Any

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


def endpoint_url(service: str = "s3") -> str | None:
    """The endpoint override for ``service``, or None for AWS's own endpoint."""
    name = endpoint_variable(service)
    return os.environ[name] if name else None


def describe_endpoint(service: str = "s3") -> str:
    """Where requests for ``service`` go, in words a user can act on."""
    name = endpoint_variable(service)
    if name:
        return f"{os.environ[name]} (from {name})"
    region = boto3.session.Session().region_name or "no region configured"
    return f"the AWS {service} endpoint of region {region}"


def client(service: str, **kwargs: Any) -> BaseClient:
    """A boto3 client for ``service`` with the endpoint override applied; kwargs go to boto3."""
    kwargs.setdefault("endpoint_url", endpoint_url(service))
    return boto3.session.Session().client(service, **kwargs)


def s3fs_client_kwargs() -> dict[str, Any]:
    """``client_kwargs`` for s3fs / fsspec (the catalog's ``fs_args``) with the same endpoint."""
    url = endpoint_url("s3")
    return {"endpoint_url": url} if url else {}


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
