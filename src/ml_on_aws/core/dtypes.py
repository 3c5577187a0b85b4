"""What the project counts as a number in a table."""

from __future__ import annotations

from typing import Any

import pandas as pd


def is_numeric(values: Any) -> bool:
    """True for a numeric column (or dtype) that is not boolean.

    pandas counts booleans as numbers; the project treats a yes/no column as a category
    everywhere: in feature selection, in the model's inputs, in the expectation suite and in drift.
    """
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
