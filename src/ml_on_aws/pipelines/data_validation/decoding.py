"""Where a loaded table holds text its encoding could not decode (marked by ``ml_on_aws.core.decoding``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_on_aws.core.decoding import MARK, is_undecoded, shown


@dataclass(frozen=True)
class Undecoded:
    """The first value of one column (or a column name) that did not decode, and how many did."""

    column: str
    line: int  # in the file: 1 is the header, a table row is its position + 2
    value: str
    cells: int

    def describe(self) -> str:
        what = "the column name" if self.line == 1 else f"{self.cells} value(s), the first"
        return f"column '{shown(self.column)}': {what} on line {self.line} ('{shown(self.value)}')"


def undecodable_cells(frame: pd.DataFrame) -> list[Undecoded]:
    """Each column whose name or values hold undecoded text, the header's first, then by line.

    Lines count the header as line 1 and a row as one line, as pandas reads a CSV file by
    default (no skipped lines, no line breaks inside quoted values).
    """
    found = [Undecoded(str(name), 1, str(name), 1) for name in frame.columns if is_undecoded(name)]
    for position, name in enumerate(frame.columns):
        values = frame.iloc[:, position]
        if _cannot_hold_text(values):
            continue
        rows = np.flatnonzero(_holds_mark(values))
        if len(rows):
            found.append(Undecoded(str(name), int(rows[0]) + 2, str(values.iloc[rows[0]]), len(rows)))
    return sorted(found, key=lambda undecoded: undecoded.line)


def _cannot_hold_text(values: pd.Series) -> bool:
    dtype = values.dtype
    return (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype))


def _holds_mark(values: pd.Series) -> np.ndarray:
    try:
        return values.str.contains(MARK, regex=False, na=False).to_numpy(dtype=bool)
    except (AttributeError, TypeError):  # an object column of values that are not all text
        return values.map(is_undecoded).to_numpy(dtype=bool)
