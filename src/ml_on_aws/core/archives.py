"""Unpack model archives (SageMaker's model.tar.gz) without letting a member escape the folder."""

from __future__ import annotations

import tarfile
from pathlib import Path


def extract_tar(archive: str | Path, folder: str | Path) -> None:
    """Extract ``archive`` into ``folder`` with tarfile's ``data`` filter; on Pythons without
    extraction filters (before 3.11.4, e.g. Debian bookworm's 3.11.2 in the offline base
    image) refuse absolute paths, ``..``, links and devices the same way, then extract."""
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(folder, filter="data")
            return
        root = Path(folder).resolve()
        for member in tar.getmembers():
            inside = (root / member.name).resolve().is_relative_to(root)
            if not inside or member.issym() or member.islnk() or member.isdev():
                raise tarfile.TarError(f"{archive}: refusing to extract {member.name!r} (outside the folder, a link or a device)")
        tar.extractall(folder)  # noqa: S202 - every member checked above
