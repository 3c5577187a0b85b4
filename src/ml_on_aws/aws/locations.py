"""Where the `aws` environment keeps its data: config resolvers used by conf/aws/*.yml."""

from __future__ import annotations

import os
import re

from ml_on_aws.core.config import ConfigurationError

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (general purpose)
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def required_env(name: str) -> str:
    """The value of environment variable ``name``; a ConfigurationError naming it when unset."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"Environment variable {name} is not set; the configuration needs it "
            f"(export {name}=... and run again; see docs/aws_environment.md)."
        )
    return value


def s3_root(bucket_variable: str, prefix_variable: str) -> str:
    """``s3://<bucket>/<prefix>`` from two environment variables, checked before any request.

    Used in conf as ``${s3_root:ML_ON_AWS_BUCKET,ML_ON_AWS_PREFIX}``.
    """
    bucket = required_env(bucket_variable)
    if bucket.startswith("s3://") or not _BUCKET_NAME.match(bucket) or ".." in bucket:
        raise ConfigurationError(
            f"{bucket_variable}={bucket!r} is not an S3 bucket name: give the bare name "
            "(3-63 lowercase letters, digits, '-' or '.'), without s3:// or a path; "
            f"put the path in {prefix_variable}."
        )
    prefix = required_env(prefix_variable).strip("/")
    if not prefix or "//" in prefix:
        raise ConfigurationError(
            f"{prefix_variable}={os.environ[prefix_variable]!r} is not a usable key prefix: "
            "give a path such as 'ml-on-aws/dev' (no empty segments)."
        )
    return f"s3://{bucket}/{prefix}"


RESOLVERS = {"s3_root": s3_root}
