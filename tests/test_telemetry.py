"""Kedro's telemetry is off for anyone who runs the project, even without the Makefile's variables."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import KEDRO


def test_a_kedro_command_without_opt_out_variables_sends_and_writes_nothing(project):
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY")}
    before = (project / "pyproject.toml").read_text()
    result = subprocess.run([KEDRO, "registry", "list"], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # kedro-telemetry, when consent is not refused, writes a project id into pyproject.toml and
    # asks for consent or announces that it collects data.
    assert (project / "pyproject.toml").read_text() == before
    assert "telemetry" not in (result.stdout + result.stderr).lower()


def test_mlflow_telemetry_is_off_once_the_project_is_loaded(project):
    # As a user's shell: none of the variables that turn MLflow's telemetry off (pytest's and
    # CI's count as such for MLflow).
    quiet = ("DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY", "PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS")
    env = {k: v for k, v in os.environ.items() if k not in quiet}
    script = (
        "from pathlib import Path\n"
        "from kedro.framework.startup import bootstrap_project\n"
        "from kedro.framework.project import settings\n"
        "bootstrap_project(Path.cwd())\n"
        "settings.HOOKS\n"  # Kedro reads the settings before any plugin imports MLflow
        "import mlflow.telemetry\n"
        "print(mlflow.telemetry.get_telemetry_client())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "None"
