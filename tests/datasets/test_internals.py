"""Where a dataset lives, as every message, manifest and MLflow parameter shows it."""

from __future__ import annotations

from kedro.io import MemoryDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset

from ml_on_aws.datasets import internals


def test_a_location_carries_its_protocol_unless_it_is_local(tmp_path):
    assert internals.location(CSVDataset(filepath=str(tmp_path / "a.csv"))) == str(tmp_path / "a.csv")
    assert internals.location(ParquetDataset(filepath="s3://bucket/prefix/t.parquet")) == "s3://bucket/prefix/t.parquet"
    assert internals.location(MemoryDataset()) == ""
