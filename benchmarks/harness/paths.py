"""Where the harness reads and writes, and the interpreter and ``kedro`` it runs."""

from __future__ import annotations

import sys
from pathlib import Path

import scale_data

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
PYTHON = sys.executable
KEDRO = str(Path(PYTHON).with_name("kedro"))
WORK = scale_data.DATA_DIR / "work"  # the project copies, baseline outputs and logs
RESULTS = BENCH / "results"
README = BENCH / "README.md"
