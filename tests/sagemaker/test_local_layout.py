"""The /opt/ml layout the local runner stages, compared with what SageMaker gives a container.

Inputs come through moto's S3 API; no container runs here (test_local.py runs them).
"""

from __future__ import annotations

import json

import boto3
import pytest

from ml_on_aws.control.local.containers import final_metrics
from ml_on_aws.control.local.runner import LocalRunner
from ml_on_aws.control.local.staging import stage_processing, stage_training
from ml_on_aws.control.local.transform import batches
from ml_on_aws.sagemaker import requests as rq
from ml_on_aws.sagemaker.config import parse_config, read

from .conftest import BUCKET, IMAGE_URI, REGION, ROOT

PARTS = [f"project/01_raw/new_data/part-{i}.csv" for i in range(7)]


@pytest.fixture
def s3(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="project/01_raw/credit_data.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=BUCKET, Key="project/01_raw/credit_data_new.csv", Body=b"not a channel file")
    for key in PARTS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    s3.put_object(Bucket=BUCKET, Key="project/models/model.tar.gz", Body=b"model")
    return s3


@pytest.fixture
def config(aws):
    raw = read(ROOT, "aws")
    raw["training"]["hyperparameters"] = {"training.search.n_iter": 3, "split.stratify": False}
    inference = raw["processing"]["pipelines"]["inference"]
    inference["instance_count"] = 3
    inference["inputs"]["new_data"]["s3_uri"] = f"s3://{BUCKET}/project/01_raw/new_data/"
    return parse_config(raw)


def test_training_layout_matches_sagemakers(config, s3, tmp_path):
    request = rq.training_job_request(config, image_uri=IMAGE_URI, job_name="job", commit="c")
    [instance] = stage_training(s3, request, tmp_path, {})

    config_dir = instance.folder / "input" / "config"
    assert json.loads((config_dir / "hyperparameters.json").read_text()) == {
        "training.search.n_iter": "3", "split.stratify": "false",
    }
    assert json.loads((config_dir / "inputdataconfig.json").read_text()) == {
        "train": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
    }
    resources = json.loads((config_dir / "resourceconfig.json").read_text())
    assert (resources["current_host"], resources["hosts"]) == ("algo-1", ["algo-1"])
    # The channel prefix names one file: only that file, at the channel's root.
    channel = instance.folder / "input" / "data" / "train"
    assert [p.name for p in channel.iterdir()] == ["credit_data.csv"]
    assert (channel / "credit_data.csv").read_text() == "a,b\n1,2\n"
    assert instance.arguments == ["train"]
    assert {str(target) for target in instance.mounts.values()} == {
        "/opt/ml/input", "/opt/ml/model", "/opt/ml/output", "/opt/ml/checkpoints",
    }


def test_sharded_processing_input_gives_each_object_to_exactly_one_instance(config, s3, tmp_path):
    request = rq.processing_job_request(
        config, "inference", image_uri=IMAGE_URI, job_name="job", commit="c",
        model_data_url=f"s3://{BUCKET}/project/models/model.tar.gz",
    )
    instances = stage_processing(s3, request, tmp_path, {})

    assert [i.host for i in instances] == ["algo-1", "algo-2", "algo-3"]
    shares = []
    for instance in instances:
        mounts = {str(target): source for source, target in instance.mounts.items()}
        shares.append(sorted(p.name for p in mounts["/opt/ml/processing/input/new_data"].iterdir()))
        # The model is replicated to every instance.
        assert (mounts["/opt/ml/processing/input/model"] / "model.tar.gz").read_bytes() == b"model"
        assert "/opt/ml/processing/output/predictions" in mounts
        job_config = json.loads((mounts["/opt/ml/config"] / "processingjobconfig.json").read_text())
        assert job_config["ProcessingInputs"] == request["ProcessingInputs"]
        resources = json.loads((mounts["/opt/ml/config"] / "resourceconfig.json").read_text())
        assert resources == {"current_host": instance.host, "hosts": ["algo-1", "algo-2", "algo-3"]}
        assert instance.entrypoint == config.processing.entrypoint[0]
        assert instance.arguments == [*config.processing.entrypoint[1:], "inference"]
    assert all(shares)  # 7 objects over 3 instances: nobody idle
    assert sorted(name for share in shares for name in share) == sorted(key.rsplit("/", 1)[1] for key in PARTS)


def test_final_metrics_keep_the_last_value_each_regex_matched():
    definitions = [{"Name": "auc", "Regex": r"auc=([0-9.]+)"}, {"Name": "rmse", "Regex": r"rmse=([0-9.]+)"}]
    metrics = final_metrics(["auc=0.5", "epoch 2", "auc=0.75", "auc=n/a"], definitions)
    assert [(m["MetricName"], m["Value"]) for m in metrics] == [("auc", 0.75)]


def test_batch_transform_splits_lines_into_payload_sized_batches():
    body = b"1,2\n3,4\n\n5,6\n"
    assert batches(body, "Line", "MultiRecord", max_bytes=8) == [b"1,2\n3,4\n", b"5,6\n"]
    assert batches(body, "Line", "SingleRecord", max_bytes=8) == [b"1,2\n", b"3,4\n", b"5,6\n"]
    assert batches(body, "None", "MultiRecord", max_bytes=8) == [body]
    # A record larger than the payload is still sent, alone.
    assert batches(b"123456789\n1\n", "Line", "MultiRecord", max_bytes=4) == [b"123456789\n", b"1\n"]


def test_local_jobs_publish_no_metrics_unless_told_and_run_in_the_configured_region(config, s3, tmp_path):
    request = rq.training_job_request(config, image_uri=IMAGE_URI, job_name="job", commit="c")

    runner = LocalRunner(s3, print)
    told_runner = LocalRunner(s3, print, environment={"ML_ON_AWS_PUBLISH_METRICS": "true"})
    [local] = stage_training(s3, request, tmp_path / "local", runner.environment)
    [told] = stage_training(s3, request, tmp_path / "told", told_runner.environment)

    assert local.environment["ML_ON_AWS_PUBLISH_METRICS"] == "false"
    assert told.environment["ML_ON_AWS_PUBLISH_METRICS"] == "true"
    # The request names the region, so the container's clients need nothing SageMaker may not set.
    assert request["Environment"]["AWS_DEFAULT_REGION"] == config.region == local.environment["AWS_DEFAULT_REGION"]
