"""The running code's git revision: one reader for run manifests, MLflow tags and image tags."""

from __future__ import annotations

import subprocess

from ml_on_aws.core.git import COMMIT_VARIABLE, git_revision


def _git(cwd, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_a_checkout_gives_its_commit_and_whether_tracked_files_changed(tmp_path, monkeypatch):
    monkeypatch.setenv(COMMIT_VARIABLE, "not-this-one")
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("one")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one")
    head = _git(tmp_path, "rev-parse", "HEAD")

    clean = git_revision(tmp_path)
    assert (clean.commit, clean.dirty, clean.tag) == (head, False, head[:12])

    (tmp_path / "untracked.txt").write_text("not part of the code")
    assert git_revision(tmp_path).dirty is False
    (tmp_path / "a.txt").write_text("two")
    changed = git_revision(tmp_path)
    assert changed.dirty is True and changed.tag == f"{head[:12]}-dirty"


def test_outside_a_checkout_the_variable_names_the_commit(tmp_path, monkeypatch):
    monkeypatch.setenv(COMMIT_VARIABLE, "0123456789abcdef0123")
    outside = git_revision(tmp_path)
    assert (outside.commit, outside.dirty, outside.tag) == ("0123456789abcdef0123", None, "0123456789ab")
    monkeypatch.delenv(COMMIT_VARIABLE)
    assert git_revision(tmp_path).commit == "unknown"
