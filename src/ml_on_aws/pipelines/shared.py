"""Functions more than one stage uses: a stage imports them from here, never another stage's nodes."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ml_on_aws.core.config import DataConfig


def features_and_target(table: pd.DataFrame, data: DataConfig) -> tuple[pd.DataFrame, pd.Series | None]:
    if data.target and data.target in table.columns:
        return table.drop(columns=[data.target]), table[data.target]
    return table, None


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files, no display), imported only when a stage draws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
