"""The skops file dataset: round trip, versions, and refusal of types nobody trusted."""

from __future__ import annotations

from pathlib import Path

import pytest
import skops.io
from kedro.io import Version
from kedro.io.core import DatasetError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ml_on_aws.datasets import SkopsDataset


class Unvetted:
    """A type from a package no one listed as trusted (this test module)."""


def test_an_unfitted_pipeline_comes_back_with_its_steps(tmp_path: Path) -> None:
    dataset = SkopsDataset(filepath=str(tmp_path / "feature_pipeline.skops"))
    dataset.save(Pipeline([("scale", StandardScaler(with_mean=False))]))
    loaded = dataset.load()
    assert [name for name, _ in loaded.steps] == ["scale"] and loaded.steps[0][1].with_mean is False


def test_each_save_is_a_version_and_a_load_reads_the_newest(tmp_path: Path) -> None:
    path = str(tmp_path / "feature_pipeline.skops")
    for version, with_mean in (("2026-01-01T00.00.00.000Z", True), ("2026-01-02T00.00.00.000Z", False)):
        SkopsDataset(filepath=path, version=Version(None, version)).save(StandardScaler(with_mean=with_mean))
    assert SkopsDataset(filepath=path, version=Version(None, None)).load().with_mean is False
    assert SkopsDataset(filepath=path, version=Version("2026-01-01T00.00.00.000Z", None)).load().with_mean is True


def test_a_file_holding_an_untrusted_type_is_refused_naming_the_type(tmp_path: Path) -> None:
    path = tmp_path / "planted.skops"
    path.write_bytes(skops.io.dumps(Unvetted()))
    # Kedro wraps the loader's UntrustedModelError and keeps its message.
    with pytest.raises(DatasetError, match=r"planted\.skops contains types .*Unvetted"):
        SkopsDataset(filepath=str(path)).load()
