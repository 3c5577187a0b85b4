"""A table the project does not bundle, through README "Bring your own dataset" literally:
the first `kedro run` succeeds (issue 16)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import PROJECT_ROOT, copy_project, run_kedro

pytestmark = pytest.mark.slow


def _three_class_table(rows: int, seed: int) -> pd.DataFrame:
    """Penguin-like measurements, a 3-class target, two identifiers, a leaky column, gaps."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], size=rows, p=[0.45, 0.2, 0.35])
    shift = pd.Series(species).map({"Adelie": 0.0, "Chinstrap": 1.0, "Gentoo": 2.0}).to_numpy()
    table = pd.DataFrame({
        "animal_id": [f"P{i:05d}" for i in range(rows)],
        "record_no": np.arange(1000, 1000 + rows),
        "island": rng.choice(["Biscoe", "Dream", "Torgersen"], size=rows),
        "bill_length_mm": 38 + 5 * shift + rng.normal(0, 2.5, rows),
        "flipper_length_mm": 190 + 12 * shift + rng.normal(0, 6, rows),
        "body_mass_g": 3700 + 600 * shift + rng.normal(0, 300, rows),
        "sex": rng.choice(["male", "female"], size=rows),
        "species": species,
    })
    table["species_code"] = table["species"].str[:3].str.upper()  # leaky: the target in other words
    table.loc[rng.choice(rows, rows // 20, replace=False), "bill_length_mm"] = np.nan
    table.loc[rng.choice(rows, rows // 30, replace=False), "sex"] = np.nan
    return table


def test_a_new_three_class_table_runs_first_time_by_the_readme(tmp_path):
    project = copy_project(tmp_path / "project")
    readme = (PROJECT_ROOT / "README.md").read_text()
    steps = readme[readme.index("## Bring your own dataset"):readme.index("## Exploring")]
    commands = re.findall(r"`(kedro [^`]+)`", steps)
    assert commands[:2] == ["kedro validation init-suite --dataset raw_data --force", "kedro run"]

    # 1. The table and the rows to score (without the target, the identifiers and the leak).
    table = _three_class_table(900, seed=1)
    table.to_csv(project / "data/01_raw/seabird_survey.csv", index=False)
    new = _three_class_table(60, seed=2).drop(columns=["species", "species_code", "animal_id", "record_no"])
    new.to_csv(project / "data/01_raw/seabird_survey_new.csv", index=False)
    catalog_file = project / "conf/base/catalog.yml"
    catalog = catalog_file.read_text()
    catalog = catalog.replace("01_raw/credit_data.csv", "01_raw/seabird_survey.csv")
    catalog = catalog.replace("01_raw/credit_data_new.csv", "01_raw/seabird_survey_new.csv")
    assert "seabird_survey.csv" in catalog and "seabird_survey_new.csv" in catalog
    # 3. Nothing to do: the registered model is named after the raw file (ml_on_aws_seabird_survey).
    catalog_file.write_text(catalog)
    # 2. The data section; the credit examples of derived features go.
    parameters_file = project / "conf/base/parameters.yml"
    parameters = yaml.safe_load(parameters_file.read_text())
    parameters["data"].update(task="classification", target="species", positive_label=None,
                              drop_columns=["animal_id", "record_no", "species_code"])
    parameters["features"]["derived"] = []
    parameters_file.write_text(yaml.safe_dump(parameters, sort_keys=False))

    # 4. and 6., as written in the README.
    for command in commands[:2]:
        result = run_kedro(project, *command.split()[1:])
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]

    assert "Traceback" not in output
    assert "Search candidate 8/8" in output and "scoring=roc_auc_ovr (the task's default)" in output
    report_dir = project / "data/08_reporting/evaluation_report.json"
    report = json.loads((sorted(report_dir.iterdir())[-1] / report_dir.name).read_text())
    assert report["test"]["roc_auc"] > 0.9 and report["test"]["accuracy"] > 0.75
    predictions = pd.read_csv(project / "data/07_model_output/predictions.csv")
    assert len(predictions) == len(new) and set(predictions["prediction"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    decision = json.loads((project / "data/08_reporting/release_decision.json").read_text())
    assert decision["promote"] is True
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    assert str(client.get_model_version_by_alias("ml_on_aws_seabird_survey", "champion").version) == "1"


def test_skipping_the_suite_step_names_the_suite_file_and_the_command(tmp_path):
    project = copy_project(tmp_path / "project")
    _three_class_table(300, seed=1).to_csv(project / "data/01_raw/credit_data.csv", index=False)
    result = run_kedro(project, "run", "--params", "data.target=species,data.positive_label=null,features.derived=[]")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "The expectation suite conf/base/expectations/raw_data.yml does not describe dataset 'raw_data'" in output
    assert "`kedro validation init-suite --dataset raw_data --force`" in output
    assert not (project / "data/08_reporting/validation/raw_data_validation.json").exists()  # before the first node
