"""Small frames and parameters for node tests: a slice of the bundled credit data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def base_params() -> dict:
    return yaml.safe_load((ROOT / "conf" / "base" / "parameters.yml").read_text())


@pytest.fixture(scope="session")
def credit() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "01_raw" / "credit_data.csv", nrows=800)


@pytest.fixture
def fast_training(base_params) -> dict:
    """The base training section with a search small enough for a unit test."""
    training = {**base_params["training"]}
    training["search"] = {**training["search"], "n_iter": 2, "cv": 2, "n_jobs": 1, "verbose": 0}
    return training
