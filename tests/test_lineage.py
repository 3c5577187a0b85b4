"""Lineage: what a run records about its model (in the model directory and in MLflow), and
`kedro lineage` following the chain back from a model version or a run.

One small run in-process (tests/lineage_run.py: Kedro's runner, the project's lineage and run
commit hooks, MLflow on SQLite) is traced; the command's Kedro session is exercised by the slow
test at the end, on the model `kedro run` trains.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pytest
from click.testing import CliRunner

from ml_on_aws.control import lineage_cli
from ml_on_aws.control.lineage import Tracer, render
from ml_on_aws.core import lineage
from ml_on_aws.core.lineage import LineageError
from ml_on_aws.datasets.runs import RunStore

from .conftest import run_kedro
from .lineage_run import COMMIT, DIGEST, IMAGE, MODEL_NAME, committed_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with committed_run(tmp_path_factory.mktemp("lineage")) as found:
        yield found


@pytest.fixture(scope="module")
def record(run) -> dict:
    return json.loads((run.model_dir / lineage.LINEAGE_FILE).read_text())


def tracer(run, *, store: bool = True, model_name: str | None = MODEL_NAME) -> Tracer:
    return Tracer(mlflow.MlflowClient(tracking_uri=run.tracking_uri), RunStore(str(run.runs_root)) if store else None,
                  tracking_uri=run.tracking_uri, model_name=model_name)


# ---- what the run records ----------------------------------------------------------------------

def test_the_published_model_directory_carries_its_runs_lineage(run, record):
    manifest = json.loads((run.runs_root / "committed" / f"{run.version}.json").read_text())
    assert record["model"] == {"name": MODEL_NAME, "version": "1"}
    assert record["mlflow_run_id"] == run.mlflow_run_id
    assert record["kedro_run"] == {"version": run.version, "env": "local", "pipelines": ["__default__"],
                                   "manifest": str(run.runs_root / "committed" / f"{run.version}.json")}
    # The datasets the manifest commits, as the manifest lists them.
    assert record["datasets"] == {"read": manifest["read"], "saved": manifest["saved"]}
    assert set(record["datasets"]["read"]) == {"raw_data"} and "mlflow_model" in record["datasets"]["saved"]
    assert record["code"] == {"commit": COMMIT, "dirty": None}  # not a git checkout: ML_ON_AWS_GIT_COMMIT
    assert record["image"] == {"uri": IMAGE, "digest": DIGEST}


def test_the_input_is_identified_by_size_time_and_content(run, record):
    identity = record["inputs"]["raw_data"]
    content = run.raw_file.read_bytes()
    assert identity["location"] == str(run.raw_file.resolve())
    assert identity["size"] == len(content)
    assert identity["sha256"] == hashlib.sha256(content).hexdigest()
    assert identity["modified"] == datetime.fromtimestamp(run.raw_file.stat().st_mtime, tz=UTC).isoformat()


def test_the_mlflow_run_and_the_model_version_carry_it_too(run, record):
    client = mlflow.MlflowClient(tracking_uri=run.tracking_uri)
    with tempfile.TemporaryDirectory() as folder:
        logged = Path(client.download_artifacts(run.mlflow_run_id, lineage.LINEAGE_FILE, folder))
        assert json.loads(logged.read_text()) == record
    tags = client.get_run(run.mlflow_run_id).data.tags
    expected = {lineage.TAG_KEDRO_RUN: run.version, lineage.TAG_GIT_COMMIT: COMMIT, lineage.TAG_IMAGE: f"{IMAGE} ({DIGEST})"}
    assert expected.items() <= tags.items()
    assert hashlib.sha256(run.raw_file.read_bytes()).hexdigest() in tags[lineage.TAG_INPUT_PREFIX + "raw_data"]
    version = client.get_model_version(MODEL_NAME, "1")
    assert expected.items() <= version.tags.items()
    assert version.tags[lineage.TAG_INPUT_PREFIX + "raw_data"] == tags[lineage.TAG_INPUT_PREFIX + "raw_data"]
    # The registered version's own files: what `kedro download-model` copies.
    with tempfile.TemporaryDirectory() as folder:
        downloaded = mlflow.artifacts.download_artifacts(f"models:/{MODEL_NAME}/1", dst_path=folder,
                                                         tracking_uri=run.tracking_uri)
        assert lineage.read_record(downloaded) == record


@pytest.mark.parametrize(("image", "shown"), [
    ({"uri": None, "digest": None}, "local"),
    ({"uri": IMAGE, "digest": DIGEST}, f"{IMAGE} ({DIGEST})"),
    ({"uri": f"{IMAGE.rsplit(':', 1)[0]}@{DIGEST}", "digest": DIGEST}, f"{IMAGE.rsplit(':', 1)[0]}@{DIGEST}"),
])
def test_the_image_is_shown_with_its_digest_once(image, shown):
    assert lineage.describe_image(image) == shown


def test_a_model_directory_with_a_broken_record_is_named(tmp_path):
    (tmp_path / lineage.LINEAGE_FILE).write_text("{not json")
    with pytest.raises(LineageError, match=rf"{tmp_path / lineage.LINEAGE_FILE} is not a lineage record: not JSON"):
        lineage.read_record(tmp_path)
    (tmp_path / lineage.LINEAGE_FILE).write_text("[]")
    with pytest.raises(LineageError, match="no 'format' key"):
        lineage.read_record(tmp_path)
    assert lineage.read_record(tmp_path / "elsewhere") is None


def test_tags_stay_within_what_mlflow_takes():
    many = {"location": "s3://b/p", "file_count": 500,
            "files": [{"location": f"s3://b/p/part-{i}.csv", "etag": "e" * 32} for i in range(500)]}
    tags = lineage.mlflow_tags({"kedro_run": {"version": "v"}, "inputs": {"raw_data": many}})
    assert len(tags[lineage.TAG_INPUT_PREFIX + "raw_data"]) <= 5000
    assert tags[lineage.TAG_INPUT_PREFIX + "raw_data"].endswith("; and 497 more")


# ---- following the chain -------------------------------------------------------------------------

def _row(lines: list[str], label: str) -> str:
    found = [line.strip()[len(label):].strip() for line in lines if line.strip().startswith(label + " ")]
    assert found, f"no '{label}' line in:\n" + "\n".join(lines)
    return found[0]


@pytest.mark.parametrize("how", ["version", "alias", "kedro run", "mlflow run", "default"])
def test_every_way_in_reaches_the_whole_chain(run, how):
    found = {
        "version": lambda t: t.from_model(f"{MODEL_NAME}/1"),
        "alias": lambda t: t.from_model(f"{MODEL_NAME}@champion"),
        "kedro run": lambda t: t.from_run(run.version),
        "mlflow run": lambda t: t.from_run(run.mlflow_run_id),
        "default": lambda t: t.default(),
    }[how](tracer(run))
    lines = render(found)
    assert _row(lines, "model version").startswith(f"{MODEL_NAME}/1 @champion, registered ")
    assert _row(lines, "MLflow run").startswith(f"{run.mlflow_run_id} (FINISHED), experiment lineage-")
    assert _row(lines, "Kedro run").startswith(f"{run.version}, env local")
    assert _row(lines, "run manifest") == str(run.runs_root / "committed" / f"{run.version}.json")
    assert _row(lines, "read") == f"raw_data  {run.raw_file}"
    assert _row(lines, "data read").startswith(f"raw_data: {run.raw_file.resolve()}, sha256 "
                                               f"{hashlib.sha256(run.raw_file.read_bytes()).hexdigest()}")
    assert _row(lines, "git commit") == COMMIT
    assert _row(lines, "image") == f"{IMAGE} ({DIGEST})"
    assert _row(lines, "lineage record") == f"MLflow run {run.mlflow_run_id} artifact lineage.json"
    assert not found.notes


def test_without_the_run_store_the_datasets_come_from_the_models_record(run, record):
    lines = render(tracer(run, store=False).from_model(f"{MODEL_NAME}/1"))
    assert "not in this environment's run store" in _row(lines, "run manifest")
    assert _row(lines, "read") == f"raw_data  {record['datasets']['read']['raw_data']}"


@pytest.mark.parametrize(("call", "message"), [
    (lambda t: t.from_model(f"{MODEL_NAME}/7"),
     f"No model version {MODEL_NAME}/7 in the registry at sqlite:///.* \\(registered models: {MODEL_NAME}\\)\\.$"),
    (lambda t: t.from_model("elsewhere@champion"), "No model version elsewhere@champion in the registry"),
    (lambda t: t.from_model("no-version"), "--model 'no-version': expected <registered name>/<version>"),
    (lambda t: t.from_run("0" * 32), f"No MLflow run {'0' * 32} at sqlite:///"),
    (lambda t: t.from_run("2001-01-01T00.00.00.000Z"),
     "No run 2001-01-01T00.00.00.000Z: no committed run of that version in .* and no MLflow run tagged"),
])
def test_an_unknown_model_or_run_is_one_line_naming_it(run, call, message):
    with pytest.raises(LineageError, match=message) as error:
        call(tracer(run))
    assert "\n" not in str(error.value)


def test_nothing_to_trace_says_how_to_get_something(run, tmp_path):
    empty = Tracer(mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'empty.db'}"), RunStore(str(tmp_path / "runs")),
                   tracking_uri="sqlite:///empty.db", model_name="ml_on_aws_nothing")
    with pytest.raises(LineageError, match=r"Nothing to trace: no ml_on_aws_nothing@champion .* `kedro run`"):
        empty.default()


# ---- the command -------------------------------------------------------------------------------

def kedro_lineage(run, monkeypatch, *args: str):
    monkeypatch.setattr(lineage_cli, "_tracer", lambda project_path, env, region: tracer(run))
    return CliRunner().invoke(lineage_cli.lineage, list(args), obj=SimpleNamespace(project_path=run.root))


def test_the_command_prints_the_chain_of_the_champion_by_default(run, monkeypatch):
    result = kedro_lineage(run, monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"Lineage of the champion, {MODEL_NAME}@champion"
    assert _row(result.output.splitlines(), "Kedro run").startswith(run.version)


def test_the_command_prints_json_for_scripts(run, monkeypatch):
    result = kedro_lineage(run, monkeypatch, "--run", run.version, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["model"]["version"] == "1" and found["run"]["run_id"] == run.mlflow_run_id
    assert found["manifest"]["run"] == run.version and found["record"]["inputs"]["raw_data"]["sha256"]


def test_the_command_ends_with_one_line_on_an_unknown_model(run, monkeypatch):
    result = kedro_lineage(run, monkeypatch, "--model", f"{MODEL_NAME}/9")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: No model version {MODEL_NAME}/9 in the registry at {run.tracking_uri} (registered models: {MODEL_NAME})."]


def test_the_command_takes_one_way_in(run, monkeypatch):
    result = kedro_lineage(run, monkeypatch, "--run", run.version, "--model", f"{MODEL_NAME}/1")
    assert result.exit_code == 2 and "Give one of --run, --model, --endpoint (got --run and --model)" in result.output


@pytest.mark.slow
def test_kedro_lineage_answers_for_the_model_kedro_run_trains(project):
    fast = ("training.search.n_iter=2,training.search.cv=2,evaluation.learning_curve_cv=2,"
            "evaluation.learning_curve_max_rows=500")
    trained = run_kedro(project, "run", "--params", fast)
    assert trained.returncode == 0, trained.stderr[-3000:]
    record = lineage.read_record(project / "data" / "06_models" / "mlflow_model")
    assert record["model"] == {"name": "ml_on_aws_credit_data", "version": "1"} and record["image"] == {"uri": None, "digest": None}

    traced = run_kedro(project, "lineage")
    assert traced.returncode == 0, traced.stderr[-3000:]
    lines = traced.stdout.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("Lineage of ")):]  # after Kedro's log lines
    assert lines[0] == "Lineage of the champion, ml_on_aws_credit_data@champion"
    assert _row(lines, "MLflow run").startswith(f"{record['mlflow_run_id']} (FINISHED), experiment ml_on_aws")
    assert _row(lines, "Kedro run").startswith(f"{record['kedro_run']['version']}, env local, `kedro run --params")
    raw = project / "data" / "01_raw" / "credit_data.csv"
    assert f"raw_data: {raw}, sha256 {hashlib.sha256(raw.read_bytes()).hexdigest()}" in traced.stdout
    assert _row(lines, "image") == "local (not run in a container image)"

    unknown = run_kedro(project, "lineage", "--run", "2001-01-01T00.00.00.000Z")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines()[-1].startswith("Error: No run 2001-01-01T00.00.00.000Z: no committed run")
