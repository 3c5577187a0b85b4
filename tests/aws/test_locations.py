"""The bucket and prefix resolvers: clear errors that name the variable to set."""

from __future__ import annotations

import pytest

from ml_on_aws.aws.locations import s3_root
from ml_on_aws.core.config import ConfigurationError


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    monkeypatch.delenv("ML_ON_AWS_BUCKET", raising=False)
    monkeypatch.delenv("ML_ON_AWS_PREFIX", raising=False)


def test_root_joins_bucket_and_prefix_without_stray_slashes(monkeypatch):
    monkeypatch.setenv("ML_ON_AWS_BUCKET", "my-bucket.data")
    monkeypatch.setenv("ML_ON_AWS_PREFIX", "/team/project/")
    assert s3_root("ML_ON_AWS_BUCKET", "ML_ON_AWS_PREFIX") == "s3://my-bucket.data/team/project"


@pytest.mark.parametrize(
    ("bucket", "prefix", "named"),
    [
        (None, "p", "ML_ON_AWS_BUCKET is not set"),
        ("b-ok", None, "ML_ON_AWS_PREFIX is not set"),
        ("   ", "p", "ML_ON_AWS_BUCKET is not set"),
        ("s3://my-bucket", "p", "ML_ON_AWS_BUCKET='s3://my-bucket' is not an S3 bucket name"),
        ("My_Bucket", "p", "ML_ON_AWS_BUCKET='My_Bucket' is not an S3 bucket name"),
        ("my-bucket", "a//b", "ML_ON_AWS_PREFIX='a//b' is not a usable key prefix"),
        ("my-bucket", "/", "ML_ON_AWS_PREFIX='/' is not a usable key prefix"),
    ],
)
def test_bad_or_missing_variables_are_named(monkeypatch, bucket, prefix, named):
    if bucket is not None:
        monkeypatch.setenv("ML_ON_AWS_BUCKET", bucket)
    if prefix is not None:
        monkeypatch.setenv("ML_ON_AWS_PREFIX", prefix)
    with pytest.raises(ConfigurationError, match=named.replace("(", r"\(")):
        s3_root("ML_ON_AWS_BUCKET", "ML_ON_AWS_PREFIX")
