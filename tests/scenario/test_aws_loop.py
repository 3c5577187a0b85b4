"""`make aws-loop` under pytest: every stage of the scenario, as one subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT
from tests.scenario.aws_loop.loop import Loop

pytestmark = [pytest.mark.aws_loop, pytest.mark.docker, pytest.mark.slow]


def test_the_aws_loop_runs_end_to_end() -> None:
    result = subprocess.run([sys.executable, "-m", "tests.scenario.aws_loop"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800)
    stages = [line for line in result.stdout.splitlines() if line.startswith(("ok   stage", "FAIL stage"))]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert len([line for line in stages if line.startswith("ok")]) == len(Loop.STAGES), stages
