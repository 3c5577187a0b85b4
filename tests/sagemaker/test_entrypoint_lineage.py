"""A training job's model carries its lineage: the channel's files, the job's image, the run."""

from __future__ import annotations

import hashlib

import pytest

from ml_on_aws.core import lineage

from ..conftest import copy_project
from ..lineage_run import DIGEST, IMAGE
from .test_entrypoint_contract import run_entrypoint, training_folder


@pytest.mark.slow  # a whole training job in a subprocess
def test_the_model_a_training_job_writes_records_its_channel_files_and_image(tmp_path, monkeypatch):
    # What the request builders put in the job's environment (ml_on_aws.sagemaker.requests).
    monkeypatch.setenv(lineage.IMAGE_VARIABLE, IMAGE)
    monkeypatch.setenv(lineage.IMAGE_DIGEST_VARIABLE, DIGEST)
    opt_ml = training_folder(tmp_path / "job")
    result = run_entrypoint(opt_ml, "train", project=copy_project(tmp_path / "project"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    record = lineage.read_record(opt_ml / "model")
    assert record["image"] == {"uri": IMAGE, "digest": DIGEST}
    assert record["model"] == {"name": "ml_on_aws_train", "version": "1"} and record["mlflow_run_id"]
    assert record["kedro_run"]["env"] == "sagemaker"
    channel = opt_ml / "input" / "data" / "train"
    identity = record["inputs"]["raw_data"]
    assert identity["location"] == str(channel) and identity["file_count"] == 2
    assert [item["sha256"] for item in identity["files"]] == [
        hashlib.sha256(part.read_bytes()).hexdigest() for part in sorted(channel.iterdir())]
    assert record["datasets"]["saved"]["model"] == f"@{record['kedro_run']['version']}"
