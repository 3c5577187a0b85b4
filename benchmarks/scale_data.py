"""Grow the bundled credit data to benchmark sizes by resampling rows with noise.

Rows are drawn with replacement from ``data/01_raw/credit_data.csv`` (training, with the
target) and ``credit_data_new.csv`` (rows to score). Numeric values get multiplicative
Gaussian noise (integers stay integers) and a small share of categorical values is redrawn
from the column's own distribution, so the large tables are not exact copies and the model
has real work to do. Output is written in chunks, so 10M rows never sit in memory at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"train": ROOT / "data/01_raw/credit_data.csv", "new": ROOT / "data/01_raw/credit_data_new.csv"}
DATA_DIR = Path(__file__).resolve().parent / "data"
CHUNK_ROWS = 500_000
NUMERIC_NOISE = 0.05  # relative standard deviation
CATEGORY_REDRAW = 0.02  # share of categorical cells redrawn from the column's distribution
PROTECTED = ("Status",)  # the target keeps its value: noise is for features only


def noisy_sample(source: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    sample = source.iloc[rng.integers(0, len(source), rows)].reset_index(drop=True)
    for name in sample.columns:
        if name in PROTECTED:
            continue
        column = sample[name]
        if pd.api.types.is_numeric_dtype(column):
            noisy = column * rng.normal(1.0, NUMERIC_NOISE, rows)
            sample[name] = noisy.round().astype(column.dtype) if pd.api.types.is_integer_dtype(column) else noisy.round(2)
        else:
            redraw = rng.random(rows) < CATEGORY_REDRAW
            values = source[name].to_numpy()
            replacement = values[rng.integers(0, len(values), int(redraw.sum()))]
            column = column.to_numpy(dtype=object, copy=True)
            column[redraw] = replacement
            sample[name] = column
    return sample


def write_scaled(kind: str, rows: int, path: Path, seed: int) -> Path:
    """``rows`` noisy rows of the bundled ``kind`` table (train or new) as CSV at ``path``."""
    if path.exists():
        return path
    source = pd.read_csv(SOURCES[kind])
    rng = np.random.default_rng(seed)
    partial = path.with_suffix(".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("w", newline="") as stream:
        for start in range(0, rows, CHUNK_ROWS):
            chunk = noisy_sample(source, min(CHUNK_ROWS, rows - start), rng)
            chunk.to_csv(stream, index=False, header=start == 0)
    partial.rename(path)  # a killed run leaves no half-written table behind
    return path


def dataset(rows: int, seed: int = 0) -> dict[str, Path]:
    """Paths of the training table and the new-data table (a fifth as many rows) for ``rows``."""
    label = label_for(rows)
    return {
        "train": write_scaled("train", rows, DATA_DIR / f"credit_{label}.csv", seed),
        "new": write_scaled("new", max(rows // 5, 1), DATA_DIR / f"credit_new_{label}.csv", seed + 1),
    }


def label_for(rows: int) -> str:
    for unit, size in (("m", 1_000_000), ("k", 1_000)):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{unit}"
    return str(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="+")
    for rows in parser.parse_args().rows:
        print(dataset(rows))
