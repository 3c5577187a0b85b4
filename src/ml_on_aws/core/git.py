"""The git commit of the project: one reader for the run manifests and MLflow tags (the full
commit and whether files differ from it) and for image tags (short, ``-dirty`` when they differ).

Outside a git checkout (a container image, a copied project, a Lambda) ``ML_ON_AWS_GIT_COMMIT``
names the commit.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

COMMIT_ENV = "ML_ON_AWS_GIT_COMMIT"
UNKNOWN = "unknown"
SHORT_LENGTH = 12


def git_revision(project_path: Path) -> tuple[str, bool | None]:
    """The commit checked out in ``project_path`` and whether tracked files differ from it
    (``None`` outside a git checkout, where :data:`COMMIT_ENV` or ``unknown`` names the commit)."""
    try:
        commit = _git(project_path, "rev-parse", "HEAD")
        status = _git(project_path, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get(COMMIT_ENV, UNKNOWN), None
    return commit, bool(status)


def git_commit(project_path: Path) -> str:
    """The commit as an image tag: its first 12 characters, ``-dirty`` appended when tracked
    files differ from it; outside a checkout, :data:`COMMIT_ENV` as it is."""
    commit, dirty = git_revision(project_path)
    if dirty is None:
        return commit
    return f"{commit[:SHORT_LENGTH]}-dirty" if dirty else commit[:SHORT_LENGTH]


def _git(project_path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project_path, capture_output=True, text=True, check=True
    ).stdout.strip()
