"""Which instance of a SageMaker job this container is, for per-instance output names.

Every instance of a processing job uploads its output folders to the same S3 prefix, so files
with the same name overwrite each other; naming them after the host (``algo-1``, ``algo-2``,
...) keeps every instance's share. Used in conf as ``${sagemaker_host:}``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_HOST = "algo-1"


def current_host() -> str:
    """``current_host`` of the job's resourceconfig.json (processing or training layout), else
    ``algo-1`` (one instance, or outside SageMaker). ML_ON_AWS_OPT_ML moves /opt/ml."""
    root = Path(os.environ.get("ML_ON_AWS_OPT_ML") or "/opt/ml")
    for path in (root / "config" / "resourceconfig.json", root / "input" / "config" / "resourceconfig.json"):
        if path.is_file():
            return str(json.loads(path.read_text())["current_host"])
    return DEFAULT_HOST
