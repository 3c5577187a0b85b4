"""Which version of the project's code is running: the git commit, and whether files differ from it.

One reader for every user: run manifests and MLflow tags record it, image tags and job names
carry its short form. Outside a git checkout (a container image, a Lambda, a copied project)
the ``ML_ON_AWS_GIT_COMMIT`` environment variable names the commit, when set.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

COMMIT_VARIABLE = "ML_ON_AWS_GIT_COMMIT"
UNKNOWN = "unknown"
_SHORT = 12


@dataclass(frozen=True)
class Revision:
    commit: str  # the full commit id, or ML_ON_AWS_GIT_COMMIT's value, or "unknown"
    dirty: bool | None  # None: not a git checkout, so not known

    @property
    def tag(self) -> str:
        """The short form for names (image tags, job names): 12 characters, ``-dirty`` when
        tracked files have uncommitted changes."""
        return self.commit[:_SHORT] + ("-dirty" if self.dirty else "")


def git_revision(project_path: Path) -> Revision:
    """The commit checked out in ``project_path`` and whether tracked files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=project_path, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return Revision(os.environ.get(COMMIT_VARIABLE) or UNKNOWN, None)
    return Revision(commit, bool(status))


def git_commit(project_path: Path) -> str:
    """The commit as image tags and job names carry it (:attr:`Revision.tag`)."""
    return git_revision(project_path).tag
