"""Run identity: where artifacts go, and a content hash that identifies a table."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from ml_on_aws.hooks.tracking import local_artifact_location, table_identity


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///mlflow.db", "mlartifacts"),
        ("file:///tmp/mlruns", "mlartifacts"),
        ("mlruns", "mlartifacts"),
        ("http://127.0.0.1:5000", None),
        ("https://mlflow.example.internal", None),
        ("arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/demo", None),
        ("databricks", None),
    ],
)
def test_local_artifacts_only_for_a_local_store(uri, expected):
    assert local_artifact_location(uri, "mlartifacts") == expected


def test_table_identity_follows_content_not_format():
    table = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    same = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]}, index=[7, 8, 9])
    identity = table_identity(table)
    assert identity["rows"] == 3 and identity["columns"] == 2 and len(identity["sha256"]) == 64
    assert table_identity(same)["sha256"] == identity["sha256"]  # the index is not content
    assert table_identity(table.assign(a=[1, 2, 4]))["sha256"] != identity["sha256"]
    assert table_identity(table.rename(columns={"a": "c"}))["sha256"] != identity["sha256"]


def test_a_sagemaker_tracking_server_arn_is_understood(monkeypatch):
    # The sagemaker-mlflow plugin maps the ARN to the server's regional endpoint (no request yet).
    from mlflow.tracking._tracking_service.utils import _get_store

    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    store = _get_store("arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/ml-on-aws")
    assert type(store).__name__ == "MlflowSageMakerStore"
    assert store.get_host_creds().host == "https://eu-west-1.experiments.sagemaker.aws"


def test_no_run_stays_active_after_a_session_run(project):
    # As in a notebook: one process, a session run, then whatever the user does next.
    script = (
        "from pathlib import Path\n"
        "import mlflow\n"
        "from kedro.framework.session import KedroSession\n"
        "from kedro.framework.startup import bootstrap_project\n"
        "bootstrap_project(Path.cwd())\n"
        "with KedroSession.create() as session:\n"
        "    session.run(pipeline_names=['feature_engineering'])\n"
        "print('active after run:', mlflow.active_run())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "active after run: None"
