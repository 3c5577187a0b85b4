"""Kedro's telemetry is off for anyone who runs the project, even without the Makefile's variables."""

from __future__ import annotations

import os
import subprocess

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
