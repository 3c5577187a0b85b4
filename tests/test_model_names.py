"""The registered model is named after the raw_data file unless the catalog names it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ml_on_aws.hooks.model_names import default_model_name


@pytest.mark.parametrize(("path", "name"), [
    ("data/01_raw/credit_data.csv", "ml_on_aws_credit_data"),
    ("s3://bucket/prefix/01_raw/Ames.csv.gz", "ml_on_aws_ames"),
    ("data/01_raw/My Loans: 2024.parquet", "ml_on_aws_my_loans_2024"),
    ("/opt/ml/input/data/train/", "ml_on_aws_train"),
    (None, "ml_on_aws_model"),
])
def test_default_name_is_the_raw_file_stem(path, name):
    assert default_model_name(path) == name


def test_registered_model_name_follows_raw_data_of_each_environment(project):
    """A new environment that only points raw_data at another file gets its own registry name;
    a model_name in the catalog (credit_clustering) wins."""
    (project / "conf" / "loans").mkdir()
    (project / "conf" / "loans" / "catalog.yml").write_text(
        "raw_data:\n  type: pandas.CSVDataset\n  filepath: data/01_raw/Loans-2024.csv\n")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from kedro.framework.session import KedroSession\n"
        "from kedro.framework.startup import bootstrap_project\n"
        "bootstrap_project(Path.cwd())\n"
        "for env in sys.argv[1:]:\n"
        "    with KedroSession.create(env=env) as session:\n"
        "        catalog = session.load_context().catalog\n"
        "        print('NAMES', env, catalog['champion_model'].model_name, catalog['registered_model'].model_name)\n"
    )
    envs = ["local", "ames_regression", "credit_clustering", "loans"]
    result = subprocess.run([sys.executable, "-c", script, *envs], cwd=project, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("NAMES ")]
    names = {row[0]: row[1:] for row in rows}
    assert names == {
        "local": ["ml_on_aws_credit_data"] * 2,
        "ames_regression": ["ml_on_aws_ames"] * 2,
        "credit_clustering": ["ml_on_aws_credit_segments"] * 2,
        "loans": ["ml_on_aws_loans-2024"] * 2,
    }
