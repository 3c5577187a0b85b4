"""Checks that S3 is usable before a run starts, and errors that say what went wrong with it.

A run on S3 otherwise fails minutes in, with an s3fs/botocore message that names neither the
bucket nor the reason. Before the first node this module checks, once per bucket, that the
endpoint answers, the credentials are accepted and the bucket exists, then that every input the
pipeline reads (but does not produce) is there. Each failure is an :class:`S3AccessError` naming
the bucket, key, endpoint and the variable to change.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from ml_on_aws.aws import session
from ml_on_aws.core.config import UserFixableError, error_chain
from ml_on_aws.datasets import internals

BUCKET_VARIABLE = "ML_ON_AWS_BUCKET"
PREFIX_VARIABLE = "ML_ON_AWS_PREFIX"
_REMOTE_PROTOCOLS = ("s3", "s3a")
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)
_REJECTED_CREDENTIALS = {
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "InvalidClientTokenId", "UnrecognizedClientException",
}


class MissingInputError(UserFixableError, FileNotFoundError):
    """A local input file the pipeline reads does not exist; the message says how to make it."""


class S3AccessError(UserFixableError, RuntimeError):
    """S3 cannot be used as configured; the message says which bucket or key and why."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def s3_location(dataset: Any) -> S3Location | None:
    """The bucket and key (unversioned base path) of a filesystem dataset on S3, else None."""
    if internals.protocol(dataset) not in _REMOTE_PROTOCOLS:
        return None
    path = internals.filepath(dataset) or ""
    bucket, _, key = path.partition("/")
    return S3Location(bucket, key) if bucket else None


def check_bucket(bucket: str, used_by: Iterable[str] = ()) -> None:
    """Raise S3AccessError unless ``bucket`` can be listed with the current credentials."""
    client = boto3.client("s3")
    where = session.describe_endpoint("s3")
    needed = f" (needed by {_some(sorted(used_by))})" if used_by else ""
    try:
        client.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except _UNREACHABLE as exc:
        raise S3AccessError(
            f"Cannot reach S3 at {where}: no answer after {session.retry_attempts(client)} "
            f"attempts ({exc}). Check the network, or AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 "
            f"if you use an S3-compatible service. Nothing was read or written."
        ) from None
    except NoCredentialsError:
        raise S3AccessError(
            f"No AWS credentials found for bucket '{bucket}'{needed}. Provide them the usual way: "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance/task role."
        ) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        detail = exc.response.get("Error", {}).get("Message", "")
        if code == "NoSuchBucket":
            hint = f" Set {BUCKET_VARIABLE} to an existing bucket or create it" if os.environ.get(BUCKET_VARIABLE) == bucket else " Create it or fix the catalog"
            raise S3AccessError(
                f"S3 bucket '{bucket}' does not exist at {where}{needed}.{hint} "
                f"(e.g. aws s3 mb s3://{bucket})."
            ) from None
        if code in _REJECTED_CREDENTIALS:
            raise S3AccessError(
                f"S3 at {where} rejected the AWS credentials ({code}: {detail}) for bucket "
                f"'{bucket}'. Credentials in use: {session.credentials_source()}. Check "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or AWS_PROFILE."
            ) from None
        if code in ("AccessDenied", "AllAccessDisabled", "403"):
            raise S3AccessError(
                f"Access denied to S3 bucket '{bucket}' at {where}{needed} ({detail}). The "
                f"credentials ({session.credentials_source()}) need s3:ListBucket, s3:GetObject "
                "and s3:PutObject on it."
            ) from None
        raise S3AccessError(f"S3 bucket '{bucket}' at {where}: {code} {detail}".strip()) from None


def check_s3_datasets(catalog: Any, names: Iterable[str]) -> None:
    """Check every bucket the named datasets live in, once per bucket."""
    users: dict[str, list[str]] = {}
    for name, dataset in catalog_datasets(catalog, names):
        location = s3_location(dataset)
        if location:
            users.setdefault(location.bucket, []).append(name)
    for bucket, used_by in users.items():
        check_bucket(bucket, used_by)


def check_inputs_exist(catalog: Any, names: Iterable[str], how_to_create: Mapping[str, str] | None = None) -> None:
    """Raise S3AccessError (FileNotFoundError for local files) naming every missing input.

    ``how_to_create`` maps an input's name to the command that makes it, added to its line.
    """
    missing = [
        (name, dataset) for name, dataset in catalog_datasets(catalog, sorted(names))
        if internals.filepath(dataset) is not None and not dataset.exists()
    ]
    if not missing:
        return
    lines, remote = [], False
    for name, dataset in missing:
        location = s3_location(dataset)
        remote = remote or location is not None
        where = (f"no object with key '{location.key}' in bucket '{location.bucket}' ({location.uri})"
                 if location else f"no file at {internals.location(dataset)}")
        hint = (how_to_create or {}).get(name)
        lines.append(f"  - '{name}': {where}" + (f". Make it with: {hint}" if hint else ""))
    message = "The pipeline's inputs are missing, so nothing was run:\n" + "\n".join(lines)
    if remote:
        raise S3AccessError(message + "\nUpload the bundled data with `kedro data upload --env aws`, "
                            "or point the catalog entry at your data.")
    raise MissingInputError(message)


def catalog_datasets(catalog: Any, names: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """(name, dataset) for the named catalog datasets, skipping parameters."""
    for name in names:
        if not name.startswith("params:") and name != "parameters" and name in catalog:
            yield name, catalog[name]


def explain_failure(error: BaseException) -> str | None:
    """A plain explanation when an S3 problem is somewhere in the exception chain, else None."""
    for current in error_chain(error):
        if isinstance(current, _UNREACHABLE):
            return f"The connection to S3 at {session.describe_endpoint('s3')} failed during the run ({current})."
        if isinstance(current, ClientError):
            code = current.response.get("Error", {}).get("Code", "")
            return f"S3 at {session.describe_endpoint('s3')} refused a request during the run ({code})."
    return None


def _some(names: list[str], shown: int = 3) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more datasets" if more > 0 else "")
