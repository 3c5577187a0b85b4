"""Validation and drift as a user runs them: ``kedro run`` on good data, then on bad data."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import PROJECT_ROOT, copy_project, run_kedro

pytestmark = pytest.mark.slow

FAST_SEARCH = (
    "training.search.n_iter=1,training.search.cv=2,training.search.n_jobs=1,"
    "evaluation.learning_curve_cv=2,evaluation.learning_curve_max_rows=500,evaluation.plot_max_rows=500"
)
RAW = "data/01_raw/credit_data.csv"
NEW = "data/01_raw/credit_data_new.csv"
REPORTS = "data/08_reporting/validation"


def _output(result) -> str:
    return result.stdout + result.stderr


def _check(result) -> None:
    assert result.returncode == 0, _output(result)[-4000:]


def _snapshot(project: Path) -> dict[str, str]:
    """Hash of every file a run wrote, except the validation reports (rewritten by design) and the
    run's own bookkeeping (its `data/runs/started/` record and the lock; committed runs count)."""
    return {
        str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (project / "data").rglob("*")
        if p.is_file() and "01_raw" not in p.parts and not str(p.relative_to(project)).startswith(REPORTS)
        and not str(p.relative_to(project)).startswith(("data/runs/started/", "data/runs/.lock"))
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str]:
    """The default pipeline run once on the bundled data."""
    project = copy_project(tmp_path_factory.mktemp("validated") / "project")
    result = run_kedro(project, "run", "--params", FAST_SEARCH)
    _check(result)
    return project, _output(result)


@pytest.fixture
def trained_copy(trained, tmp_path) -> Path:
    return Path(shutil.copytree(trained[0], tmp_path / "project"))


def test_default_run_validates_first_and_shows_the_data_docs(trained):
    project, output = trained
    assert output.index("Completed node: data_validation.gate_raw_data") < output.index("Running node: drop_rows_without_target")
    assert output.index("Completed node: data_validation.gate_new_data") < output.index("Running node: score_new_data")
    assert "Report 'raw_data_data_docs'" in output and "data_docs/raw_data.html" in output.replace("\n", "")
    report = json.loads((project / REPORTS / "raw_data_validation.json").read_text())
    assert report["passed"] and report["rows"] == 4000 and report["statistics"]["expectations"] > 50
    assert "<html" in (project / REPORTS / "data_docs/raw_data.html").read_text().lower()
    versions = list((project / "data/05_model_input/reference_data.parquet").iterdir())
    model_versions = list((project / "data/06_models/model").iterdir())
    assert [v.name for v in versions] == [v.name for v in model_versions]  # saved with the model's version


def _drop_income(project: Path) -> None:
    pd.read_csv(project / RAW).drop(columns="Income").to_csv(project / RAW, index=False)


def _text_age(project: Path) -> None:
    frame = pd.read_csv(project / NEW).astype({"Age": str})
    frame.loc[:2, "Age"] = "unknown"
    frame.to_csv(project / NEW, index=False)


def _header_only(project: Path) -> None:
    (project / NEW).write_text((project / NEW).read_text().splitlines()[0] + "\n")


def _empty_raw(project: Path) -> None:
    (project / RAW).write_bytes(b"")


def _latin1_new(project: Path) -> None:
    text = (project / NEW).read_text().replace("rent", "loué")
    (project / NEW).write_bytes(text.encode("latin-1"))


@pytest.mark.parametrize(
    ("spoil", "pipeline", "expected"),
    [
        # A column the configuration names (a derived feature's input) is caught before the first node.
        (_drop_income, "__default__", ["ConfigurationError", "'log_income'", "['Income']", "features.derived"]),
        (_text_age, "inference", ["DataValidationError", "Dataset 'new_data'", "column 'Age'", "observed 'str'"]),
        (_text_age, "drift", ["DataValidationError", "Dataset 'new_data'", "column 'Age'", "observed 'str'"]),
        (_header_only, "inference", ["DataValidationError", "expect_table_row_count_to_be_between", "observed 0"]),
        (_empty_raw, "__default__", ["ConfigurationError", "credit_data.csv", "is empty"]),
        # Bytes the encoding cannot decode: the file loads with them marked, and its check node names them.
        (_latin1_new, "__default__", ["DataValidationError", "credit_data_new.csv) is not valid text in the encoding",
                                      "column 'Home':", "value(s), the first on line", "for 'new_data' in the catalog"]),
    ],
)
def test_bad_input_stops_the_run_and_keeps_earlier_versions(trained_copy, spoil, pipeline, expected):
    project = trained_copy
    before = _snapshot(project)
    spoil(project)
    result = run_kedro(project, "run", "--pipelines", pipeline, "--params", FAST_SEARCH)
    output = " ".join(_output(result).split())
    assert result.returncode != 0
    for text in expected:
        assert text in output, (text, output[-3000:])
    assert "Running node: drop_rows_without_target" not in output
    assert "Running node: score_new_data" not in output
    assert "Running node: compute_column_drift" not in output
    assert _snapshot(project) == before  # no model, reference, split or prediction rewritten or added


def test_failed_validation_still_writes_its_report(trained_copy):
    project = trained_copy
    _drop_income(project)
    assert run_kedro(project, "run", "--pipelines", "data_validation").returncode != 0
    report = json.loads((project / REPORTS / "raw_data_validation.json").read_text())
    assert report["passed"] is False
    assert [(f["column"], f["expectation"]) for f in report["critical_failures"]] == [("Income", "expect_column_to_exist")]


def test_init_suite_generates_the_bundled_suite(project):
    refused = run_kedro(project, "validation", "init-suite")
    assert refused.returncode != 0 and "--force" in _output(refused)
    _check(run_kedro(project, "validation", "init-suite", "--dataset", "raw_data", "--output", "generated.yml"))
    generated = yaml.safe_load((project / "generated.yml").read_text())
    committed = yaml.safe_load((PROJECT_ROOT / "conf/base/expectations/raw_data.yml").read_text())
    assert generated == committed
    assert "severity: critical" in (project / "generated.yml").read_text()


def test_cli_and_other_pipelines_do_not_import_great_expectations():
    code = (
        "import sys, ml_on_aws.settings, ml_on_aws.cli\n"
        "from ml_on_aws.pipeline_registry import register_pipelines\n"
        "register_pipelines()\n"
        "print(sorted(m for m in sys.modules if m.startswith('great_expectations')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_missing_suite_says_how_to_make_one(project):
    (project / "conf/base/expectations/raw_data.yml").unlink()
    result = run_kedro(project, "run", "--pipelines", "data_validation")
    output = " ".join(_output(result).split())
    assert result.returncode != 0
    assert "'expectation_suite': no file at" in output and "conf/base/expectations/raw_data.yml" in output
    assert "Make it with: kedro validation init-suite --dataset raw_data" in output


def test_drift_before_any_training_says_where_the_reference_comes_from(project):
    result = run_kedro(project, "run", "--pipelines", "drift")
    output = " ".join(_output(result).split())
    assert result.returncode != 0
    assert "'reference_data': no file at" in output and "05_model_input/reference_data.parquet" in output
    assert "Make it with: kedro run (training saves" in output and "'new_data'" not in output
