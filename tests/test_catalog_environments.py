"""Every environment's catalog puts every dataset where that environment keeps its data.

conf/base/catalog.yml is written once against conf/<env>/globals.yml; these tests resolve each
environment as Kedro does and check each dataset's location: data/ locally,
s3://<bucket>/<prefix>/ in `aws`, /opt/ml/... in the SageMaker jobs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from ml_on_aws.core.config import project_config_loader
from tests.conftest import PROJECT_ROOT

BUCKET, PREFIX = "example-bucket", "team/project"
S3_ROOT = f"s3://{BUCKET}/{PREFIX}"
OPT_ML = "/work/opt-ml"
JOB_ENVIRONMENTS = ("aws", "sagemaker", "sagemaker_processing")


@pytest.fixture(autouse=True)
def _locations(monkeypatch):
    monkeypatch.setenv("ML_ON_AWS_BUCKET", BUCKET)
    monkeypatch.setenv("ML_ON_AWS_PREFIX", PREFIX)
    monkeypatch.setenv("ML_ON_AWS_OPT_ML", OPT_ML)


@pytest.fixture(autouse=True, scope="module")
def _project_settings():
    from kedro.framework.project import configure_project

    configure_project("ml_on_aws")


def _loader(env: str, project: Path = PROJECT_ROOT) -> Any:
    loader = project_config_loader(project, env)
    # kedro-mlflow adds this pattern when its hook runs; a bare loader needs it spelled out.
    loader.config_patterns["mlflow"] = ["mlflow*", "mlflow*/**"]
    return loader


def _location(entry: dict) -> str:
    """Where a dataset's data is; a wrapping dataset (PublishOnCommitDataset) names it inside."""
    return str(entry.get("filepath") or entry.get("path") or entry.get("dataset", {}).get("filepath") or "")


def _files(catalog: dict) -> dict[str, str]:
    """{name: location} of the datasets kept in files; configuration under conf/ is not data."""
    return {name: _location(entry) for name, entry in catalog.items()
            if _location(entry) and not _location(entry).startswith("conf/")}


@pytest.fixture(scope="module")
def base() -> dict:
    return _loader("base")["catalog"]


def test_locally_every_file_is_under_data(base):
    files = _files(base)
    assert {"raw_data", "model", "drift_report", "raw_data_validation", "run_manifests"} <= files.keys()
    assert all(location.startswith("data/") for location in files.values()), files
    assert files["cv_results"] == "data/08_reporting/cv_results.csv"
    assert _files(_loader("local")["catalog"]) == files


def test_aws_keeps_the_local_layout_under_the_bucket_and_prefix(base):
    aws = _loader("aws")["catalog"]
    in_tmp = {"mlflow_model"}  # the registry's working copy: its versions live in MLflow's S3 store
    for name, location in _files(base).items():
        if name in in_tmp:
            assert not _location(aws[name]).startswith("s3://"), name
            continue
        assert _location(aws[name]) == S3_ROOT + location.removeprefix("data"), name
    assert _location(aws["predictions"]) == f"{S3_ROOT}/07_model_output/predictions.csv"


def test_aws_versions_every_output_a_run_writes(base):
    """Concurrent runs on one prefix never overwrite each other's files: each run writes its
    own versions, loads its own or committed ones (src/ml_on_aws/datasets/runs.py)."""
    from ml_on_aws.pipeline_registry import register_pipelines

    aws = _loader("aws")["catalog"]
    written = {name for pipeline in register_pipelines().values() for node in pipeline.nodes for name in node.outputs}
    written &= _files(base).keys() - {"mlflow_model"}
    assert {"model", "train_set", "labelled_data", "predictions", "drift_report"} <= written
    assert sorted(name for name in written if aws[name].get("versioned") is not True) == []
    # Locally only the model and what belongs to it keep versions; the rest is overwritten.
    assert sorted(name for name in written if base[name].get("versioned")) == ["evaluation_report", "model", "reference_data",
                                                                                   "test_predictions"]


def test_mlflow_artifacts_go_to_the_bucket_in_aws():
    location = _loader("aws")["mlflow"]["tracking"]["experiment"]["create_experiment_kwargs"]["artifact_location"]
    assert location == f"{S3_ROOT}/mlflow"


def test_a_training_job_reads_its_channels_and_writes_reports_to_the_output_folder(base):
    job = _loader("sagemaker")["catalog"]
    channels = {"raw_data": "train", "test_data": "test", "production_reference_data": "reference"}
    for name, channel in channels.items():
        assert job[name]["type"] == "ml_on_aws.datasets.TableFilesDataset"
        assert _location(job[name]) == f"{OPT_ML}/input/data/{channel}"
    output = f"{OPT_ML}/output/data"
    for name, location in _files(base).items():
        if name in channels:
            continue
        if location.startswith("data/08_reporting/"):
            assert _location(job[name]) == output + location.removeprefix("data/08_reporting"), name
            assert not job[name].get("versioned"), f"{name}: a job's output.tar.gz holds fixed names"
        elif name in ("reference_data", "test_predictions"):  # what later drift and monitoring jobs read
            assert _location(job[name]) == f"{output}/{name}.parquet"
        else:  # intermediate files: in the job's scratch folder, relative to it
            assert _location(job[name]) == location, name


def test_a_processing_job_reads_inputs_and_writes_outputs_per_instance(base, monkeypatch, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "resourceconfig.json").write_text('{"current_host": "algo-2"}')
    monkeypatch.setenv("ML_ON_AWS_OPT_ML", str(tmp_path))
    job = _loader("sagemaker_processing")["catalog"]
    for name in ("raw_data", "new_data", "reference_data", "model", "captured_data"):
        assert _location(job[name]) == f"{tmp_path}/processing/input/{name}"
    # What the training job put next to the model, read from the model input (monitoring).
    for name, file in (("model_reference_data", "reference_data.parquet"), ("test_predictions", "test_predictions.parquet")):
        assert _location(job[name]) == f"{tmp_path}/processing/input/model/{file}"
    assert job["model_lineage"]["dataset"]["filepath"] == f"{tmp_path}/processing/input/model/lineage.json"
    assert job["ground_truth_labels"]["dataset"]["path"] == f"{tmp_path}/processing/input/ground_truth_labels"
    output = f"{tmp_path}/processing/output"
    assert _location(job["predictions"]) == f"{output}/predictions/predictions-algo-2.csv"
    assert _location(job["new_data_validation"]) == f"{output}/validation/new_data_validation-algo-2.json"
    assert _location(job["new_data_data_docs"]) == f"{output}/validation/data_docs/new_data-algo-2.html"
    assert _location(job["train_set"]) == f"{output}/features/train_set.parquet"
    for name in ("raw_data_validation", "raw_data_data_docs", "drift_report", "drift_summary", "retrain_signal",
                 "monitoring_report", "monitoring_summary"):
        assert _location(job[name]) == output + _location(base[name]).removeprefix("data/08_reporting"), name


@pytest.mark.parametrize("env", JOB_ENVIRONMENTS)
def test_an_environment_catalog_states_only_what_differs_from_base(env, tmp_path):
    """Each entry of conf/<env>/catalog.yml changes something base with the environment's
    globals would not already give; a copy made only to move a dataset is refused."""
    own = {name for name in yaml.safe_load((PROJECT_ROOT / "conf" / env / "catalog.yml").read_text())
           if not name.startswith("_")}
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", conf / "base")
    (conf / env).mkdir()
    shutil.copy2(PROJECT_ROOT / "conf" / env / "globals.yml", conf / env / "globals.yml")
    base_with_globals = _loader(env, tmp_path)["catalog"]
    merged = _loader(env)["catalog"]
    redundant = sorted(name for name in own if merged[name] == base_with_globals.get(name))
    assert not redundant, f"conf/{env}/catalog.yml repeats what base gives: {redundant}"


def test_no_credentials_are_written_into_the_configuration():
    for env in ("base", *JOB_ENVIRONMENTS):
        for path in (PROJECT_ROOT / "conf" / env).glob("*.yml"):
            text = path.read_text().lower()
            for secret in ("aws_access_key_id", "aws_secret_access_key", "password"):
                assert secret not in text, path


def _leaves(tree: object, path: tuple = ()) -> dict[tuple, object]:
    if isinstance(tree, dict) and tree:
        return {leaf: value for key, child in tree.items() for leaf, value in _leaves(child, (*path, key)).items()}
    return {path: tree}


def test_other_environment_files_state_only_what_differs_from_base():
    """parameters, mlflow, sagemaker and cloudwatch files are merged key by key over base
    (settings.py), so a key set to base's value is a copy that would drift."""
    conf = PROJECT_ROOT / "conf"
    repeated = []
    for path in sorted(conf.glob("*/*.yml")):
        if path.parent.name in ("base", "local") or path.name in ("catalog.yml", "globals.yml"):
            continue
        base_file = conf / "base" / path.name
        assert base_file.is_file(), f"{path} has no base file to differ from"
        base_leaves = _leaves(yaml.safe_load(base_file.read_text()))
        repeated += [f"{path.relative_to(conf)}: {'.'.join(key)}"
                     for key, value in _leaves(yaml.safe_load(path.read_text())).items()
                     if key in base_leaves and base_leaves[key] == value]
    assert not repeated, f"these keys repeat conf/base: {repeated}"
