"""The compiled prediction path: the fitted transforms as plain arrays, the estimator's own predictor.

On one row, nearly all of scikit-learn's ~10 ms goes to per-call dispatch of the pipeline's
pandas steps (column typing, derived features, ``ColumnTransformer``), not to the estimator:
the estimator's own ``predict_proba`` on a numpy row takes well under a millisecond. So the
fitted transforms of a project pipeline (:class:`ColumnTypes`, :class:`DerivedFeatures`,
imputation, scaling, one-hot encoding with infrequent and unknown categories) are written at
training time as numbers and category tables in a JSON file beside the model, and applied with
numpy; the matrix goes to the final estimator's own ``predict``/``predict_proba``, so any
estimator works and its answers are its own. A pipeline with any other step is not compiled.

The compiled path is kept only when it gives scikit-learn's answers on the whole test set
(:func:`verify`); a server checks it again on the model's input example when it loads it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml_on_aws.core.mlflow_models import read_compiled_spec
from ml_on_aws.core.predictions import predict_with_proba, prediction_table

logger = logging.getLogger(__name__)

FORMAT = 1
# Largest difference of a probability or a regression value (relative to its size above 1)
# accepted between the compiled path and scikit-learn: both apply the same float64 operations
# in the same order, so the measured difference is 0; 1e-6 leaves room for a BLAS that sums in
# another order, far below any decision a probability drives.
TOLERANCE = 1e-6


class NotCompilable(ValueError):
    """The model has a part the compiled path does not implement."""


class NeedsScikitLearn(ValueError):
    """These rows hold values the compiled path leaves to scikit-learn (its errors, its coercions)."""


@dataclass(frozen=True)
class CompiledModel:
    """The transforms of ``spec`` (JSON data) feeding ``estimator``, the pipeline's final step."""

    spec: dict[str, Any]
    estimator: Any
    classes: list[Any] | None

    @property
    def numeric(self) -> list[str]:
        return self.spec["numeric"]

    @property
    def categorical(self) -> list[str]:
        return self.spec["categorical"]

    @property
    def dates(self) -> list[str]:
        return self.spec["dates"]

    def matrix(self, typed: Mapping[str, np.ndarray]) -> np.ndarray:
        """The estimator's input from the typed raw columns: numeric ones float64, categorical
        ones object arrays of text with NaN for missing, dates as given."""
        from ml_on_aws.core.config import DerivedFeature
        from ml_on_aws.pipelines.feature_engineering.transformers import derive

        columns = dict(typed)
        for spec in self.spec["derived"]:
            columns.update(derive(columns.__getitem__, DerivedFeature.model_validate(spec)))
        rows = len(next(iter(columns.values()))) if columns else 0
        blocks = [_apply_block(block, columns, rows) for block in self.spec["blocks"]]
        return np.hstack(blocks) if blocks else np.empty((rows, 0))

    def predict_typed(self, typed: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions and (classifiers) probabilities, as :func:`predict_with_proba` gives them."""
        return predict_with_proba(self.estimator, self.matrix(typed))

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """What :func:`ml_on_aws.core.predictions.predict_frame` returns for the model, computed here."""
        predicted, proba = self.predict_typed(typed_columns(self, frame))
        return prediction_table(predicted, proba, self.classes, frame.index)


def typed_columns(compiled: CompiledModel, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The raw columns as the pipeline's :class:`ColumnTypes` step types them."""
    from ml_on_aws.pipelines.feature_engineering.transformers import (
        MissingColumnsError,
        as_category,
        as_numeric,
    )

    missing = [c for c in [*compiled.numeric, *compiled.categorical, *compiled.dates] if c not in frame.columns]
    if missing:
        raise MissingColumnsError(missing)
    typed = {name: as_numeric(frame[name]).to_numpy() for name in compiled.numeric}
    typed.update({name: as_category(frame[name]).to_numpy() for name in compiled.categorical})
    typed.update({name: pd.to_datetime(frame[name], errors="coerce").to_numpy() for name in compiled.dates})
    return typed


# ---- applying a block ----------------------------------------------------------------------

def _apply_block(block: dict[str, Any], columns: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
    names = block["columns"]
    if block["kind"] == "numeric":
        values = np.empty((rows, len(names)), dtype="float64")
        for index, name in enumerate(names):
            values[:, index] = columns[name]
        if np.isinf(values).any():
            raise NeedsScikitLearn("infinite values")  # scikit-learn refuses them with its own message
    else:
        values = np.empty((rows, len(names)), dtype=object)
        for index, name in enumerate(names):
            values[:, index] = columns[name]
    for step in block["steps"]:
        values = _STEPS[step["kind"]](step, values)
    return values


def _impute(step: dict[str, Any], values: np.ndarray) -> np.ndarray:
    missing = values != values  # NaN, as SimpleImputer's missing_values=np.nan finds it
    if missing.any():
        values = values.copy()
        rows, cols = np.nonzero(missing)
        values[rows, cols] = np.asarray(step["fill"], dtype=values.dtype)[cols]
    return values


def _standard(step: dict[str, Any], values: np.ndarray) -> np.ndarray:
    values = values.astype("float64", copy=True)
    if step["offset"] is not None:
        values -= np.asarray(step["offset"])
    if step["divide"] is not None:
        values /= np.asarray(step["divide"])
    return values


def _minmax(step: dict[str, Any], values: np.ndarray) -> np.ndarray:
    values = values.astype("float64", copy=True)
    values *= np.asarray(step["multiply"])
    values += np.asarray(step["add"])
    if step["clip"] is not None:
        np.clip(values, step["clip"][0], step["clip"][1], out=values)
    return values


def _one_hot(step: dict[str, Any], values: np.ndarray) -> np.ndarray:
    out = np.zeros((values.shape[0], step["width"]), dtype="float64")
    for index, feature in enumerate(step["features"]):
        positions = feature["positions"]
        found = [positions.get(value, feature["unknown"]) if isinstance(value, str) else None
                 for value in values[:, index]]
        if any(p is None for p in found):
            raise NeedsScikitLearn(f"column {step['columns'][index]!r} holds a value that is not text")
        hit = np.asarray(found)
        rows = np.flatnonzero(hit >= 0)
        out[rows, feature["start"] + hit[rows]] = 1.0
    return out


_STEPS: dict[str, Callable[[dict[str, Any], np.ndarray], np.ndarray]] = {
    "impute": _impute, "standard": _standard, "minmax": _minmax, "one_hot": _one_hot,
}


# ---- compiling -----------------------------------------------------------------------------

def compile_model(model: Any) -> CompiledModel:
    """The compiled form of a fitted project pipeline; :class:`NotCompilable` names the part
    it cannot take."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from ml_on_aws.pipelines.feature_engineering.transformers import ColumnTypes, DerivedFeatures

    if not isinstance(model, Pipeline) or len(model.steps) != 4:
        raise NotCompilable("it is not the project's pipeline of column types, derived features, preprocessing and estimator")
    (_, types), (_, derived), (_, preprocess), (_, estimator) = model.steps
    for step, kind in ((types, ColumnTypes), (derived, DerivedFeatures), (preprocess, ColumnTransformer)):
        if type(step) is not kind:
            raise NotCompilable(f"step {type(step).__name__} is not {kind.__name__}")
    if hasattr(estimator, "feature_names_in_"):
        raise NotCompilable(f"the estimator {type(estimator).__name__} was fitted on named columns, not an array")
    if getattr(preprocess, "sparse_output_", False):
        raise NotCompilable("the preprocessing returns a sparse matrix")
    blocks = []
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder" and transformer == "drop":
            continue
        if transformer == "drop" or (hasattr(columns, "__len__") and len(columns) == 0):
            continue
        if transformer == "passthrough" or not all(isinstance(c, str) for c in columns):
            raise NotCompilable(f"preprocessing part {name!r} is not a pipeline over named columns")
        blocks.append(_compile_block(name, transformer, list(columns)))
    spec = {
        "format": FORMAT,
        "numeric": [str(c) for c in types.numeric],
        "categorical": [str(c) for c in types.categorical],
        "dates": [str(c) for c in types.dates],
        "derived": [dict(spec) for spec in derived.derived],
        "blocks": blocks,
        "estimator": type(estimator).__name__,
        "n_features": int(getattr(estimator, "n_features_in_", -1)),
    }
    spec = json.loads(json.dumps(spec))  # exactly what the file will hold
    return _with_estimator(spec, model)


def _with_estimator(spec: dict[str, Any], model: Any) -> CompiledModel:
    estimator = model.steps[-1][1]
    if spec["estimator"] != type(estimator).__name__:
        raise NotCompilable(f"compiled for a {spec['estimator']}, the model ends with a {type(estimator).__name__}")
    classes = list(model.classes_) if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_") else None
    return CompiledModel(spec=spec, estimator=estimator, classes=classes)


def _compile_block(name: str, transformer: Any, columns: list[str]) -> dict[str, Any]:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

    steps = [s for _, s in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    compiled, numeric = [], True
    for index, step in enumerate(steps):
        kind = type(step)
        if kind is SimpleImputer:
            if step.add_indicator or not _is_nan(step.missing_values):
                raise NotCompilable(f"imputer of {name!r} adds indicators or has its own missing marker")
            fill = list(step.statistics_)
            if any(_is_nan(v) for v in fill):
                raise NotCompilable(f"imputer of {name!r} drops columns empty in training")
            numeric = numeric and all(isinstance(v, int | float | np.number) for v in fill)
            compiled.append({"kind": "impute", "fill": [v.item() if isinstance(v, np.generic) else v for v in fill]})
        elif kind is StandardScaler:
            compiled.append({"kind": "standard", "offset": _floats(step.mean_) if step.with_mean else None,
                             "divide": _floats(step.scale_) if step.with_std else None})
        elif kind is RobustScaler:
            compiled.append({"kind": "standard", "offset": _floats(step.center_) if step.with_centering else None,
                             "divide": _floats(step.scale_) if step.with_scaling else None})
        elif kind is MinMaxScaler:
            compiled.append({"kind": "minmax", "multiply": _floats(step.scale_), "add": _floats(step.min_),
                             "clip": list(step.feature_range) if step.clip else None})
        elif kind is OneHotEncoder and index == len(steps) - 1:
            compiled.append(_compile_one_hot(step, columns))
            numeric = False
        else:
            raise NotCompilable(f"preprocessing step {kind.__name__} of {name!r}")
    has_one_hot = any(s["kind"] == "one_hot" for s in compiled)
    return {"name": name, "kind": "categorical" if has_one_hot or not numeric else "numeric",
            "columns": columns, "steps": compiled}


def _compile_one_hot(encoder: Any, columns: list[str]) -> dict[str, Any]:
    if encoder.drop is not None or getattr(encoder, "sparse_output", True):
        raise NotCompilable("one-hot encoding with dropped columns or sparse output")
    if encoder.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise NotCompilable(f"one-hot encoding that handles unknown categories by {encoder.handle_unknown!r}")
    infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(encoder.categories_)
    features, start = [], 0
    for categories, rare in zip(encoder.categories_, infrequent, strict=True):
        if not all(isinstance(c, str) for c in categories):
            raise NotCompilable("one-hot encoding of categories that are not text")
        rare_set = set() if rare is None else {str(c) for c in rare}
        frequent = [c for c in categories if c not in rare_set]
        positions = {c: i for i, c in enumerate(frequent)}
        width = len(frequent)
        unknown = -1
        if rare_set:
            positions.update({c: width for c in rare_set})
            unknown = width if encoder.handle_unknown == "infrequent_if_exist" else -1
            width += 1
        features.append({"start": start, "positions": positions, "unknown": unknown})
        start += width
    step = {"kind": "one_hot", "columns": columns, "width": start, "features": features}
    _check_one_hot(encoder, step)
    return step


def _check_one_hot(encoder: Any, step: dict[str, Any]) -> None:
    """Every known category and an unknown one land where the fitted encoder puts them."""
    import warnings

    longest = max(len(c) for c in encoder.categories_)
    probe = np.empty((longest + 1, len(encoder.categories_)), dtype=object)
    for index, categories in enumerate(encoder.categories_):
        values = [*categories, *[categories[0]] * (longest - len(categories))]
        probe[:, index] = [*values, "\0unknown category\0"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "unknown categories will be encoded as all zeros"
        expected = np.asarray(encoder.transform(probe), dtype="float64")
    if not np.array_equal(_one_hot(step, probe), expected):
        raise NotCompilable("one-hot encoding whose columns could not be reproduced")


def _floats(values: Any) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype="float64")]


def _is_nan(value: Any) -> bool:
    return isinstance(value, float | np.floating) and value != value


# ---- verifying, saving, loading --------------------------------------------------------------

def difference(model: Any, compiled: CompiledModel, features: pd.DataFrame) -> str | None:
    """Why the compiled path's answers on ``features`` are not scikit-learn's, or None when they are."""
    from ml_on_aws.core.predictions import predict_frame

    expected = predict_frame(model, features)
    try:
        got = compiled.predict_frame(features)
    except NeedsScikitLearn as exc:
        return f"the rows hold values it leaves to scikit-learn ({exc})"
    if list(got.columns) != list(expected.columns):
        return f"its columns {list(got.columns)} are not {list(expected.columns)}"
    for name in expected.columns:
        want, have = expected[name].to_numpy(), got[name].to_numpy()
        if name != "prediction" or np.issubdtype(want.dtype, np.floating):
            want, have = want.astype("float64"), have.astype("float64")
            gap = np.abs(want - have) / np.maximum(1.0, np.abs(want))
            worst = float(np.nanmax(gap)) if len(gap) else 0.0
            if worst > TOLERANCE or not np.array_equal(np.isnan(want), np.isnan(have)):
                return f"{name} differs by up to {worst:.3g} (tolerance {TOLERANCE:g})"
        elif not np.array_equal(want, have):
            return f"{name} differs on {int((want != have).sum())} of {len(want)} rows"
    return None


def compile_and_verify(model: Any, test_features: pd.DataFrame) -> tuple[dict[str, Any] | None, str]:
    """The compiled spec when it gives scikit-learn's answers on ``test_features``, and one line saying so."""
    try:
        compiled = compile_model(model)
    except NotCompilable as exc:
        return None, f"Compiled prediction path: not saved, the model cannot be compiled ({exc}); scikit-learn serves it."
    problem = difference(model, compiled, test_features)
    if problem:
        return None, f"Compiled prediction path: not saved, its answers differ from scikit-learn's ({problem}); scikit-learn serves it."
    return compiled.spec | {"verified_rows": len(test_features)}, (
        f"Compiled prediction path: saved, same answers as scikit-learn on all {len(test_features)} test rows.")


def batch_predictor(model: Any, sample: pd.DataFrame) -> Callable[[pd.DataFrame], pd.DataFrame] | None:
    """A ``predict_frame`` for batch scoring through the compiled path, when it gives scikit-learn's
    answers on ``sample`` (the first rows to score); None (and a line saying why) otherwise.

    Compiling takes milliseconds, so batch scoring compiles the model it loads instead of reading
    the file; a chunk with values left to scikit-learn is scored by scikit-learn."""
    from ml_on_aws.core.predictions import predict_frame

    try:
        compiled = compile_model(model)
    except NotCompilable as exc:
        logger.info("Scoring with scikit-learn: the model cannot be compiled (%s).", exc)
        return None
    problem = difference(model, compiled, sample)
    if problem:
        logger.warning("Scoring with scikit-learn: the compiled path's answers differ (%s).", problem)
        return None
    logger.info("Scoring with the compiled prediction path (same answers as scikit-learn on the first %d rows).", len(sample))

    def predict(chunk: pd.DataFrame) -> pd.DataFrame:
        try:
            return compiled.predict_frame(chunk)
        except NeedsScikitLearn:
            return predict_frame(model, chunk)

    return predict


def load_compiled(directory: str | Path, model: Any, example: pd.DataFrame | None) -> tuple[CompiledModel | None, str]:
    """The compiled path of an MLflow model directory, checked against ``model`` on ``example``,
    or None and why not."""
    try:
        spec = read_compiled_spec(directory)
        if spec is None:
            return None, "the model directory has no compiled prediction path"
        if spec.get("format") != FORMAT:
            return None, f"its compiled path has format {spec.get('format')}, this version reads {FORMAT}"
        compiled = _with_estimator(spec, model)
    except (OSError, ValueError, KeyError) as exc:
        return None, f"its compiled path cannot be read ({type(exc).__name__}: {exc})"
    if example is not None and len(example):
        problem = difference(model, compiled, example)
        if problem:
            return None, f"its compiled path does not match the model on the input example ({problem})"
    return compiled, "compiled prediction path"
