"""Model archives unpack inside their folder, with or without tarfile's extraction filters."""

from __future__ import annotations

import io
import tarfile

import pytest

from ml_on_aws.core.archives import extract_tar


def _archive(path, *names: str) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"ok"))


@pytest.mark.parametrize("filters", [True, False], ids=["python-with-filters", "python-3.11.2"])
def test_members_inside_the_folder_are_extracted_and_escapes_refused(tmp_path, monkeypatch, filters):
    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    _archive(tmp_path / "model.tar.gz", "MLmodel", "sub/model.skops")
    extract_tar(tmp_path / "model.tar.gz", tmp_path / "out")
    assert (tmp_path / "out" / "sub" / "model.skops").read_bytes() == b"ok"

    _archive(tmp_path / "evil.tar.gz", "../escaped")
    with pytest.raises(tarfile.TarError):
        extract_tar(tmp_path / "evil.tar.gz", tmp_path / "out2")
    assert not (tmp_path / "escaped").exists()
