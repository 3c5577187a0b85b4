"""Run a suite with Great Expectations and summarise the outcome.

Great Expectations takes seconds to import, so it is imported inside the functions here, which
only the validation and drift nodes call: ``kedro --help`` and the other pipelines stay fast.
"""

from __future__ import annotations

import gc
import math
import os
from typing import Any

import pandas as pd

from ml_on_aws.core.config import ConfigurationError
from ml_on_aws.pipelines.data_validation.suite import SuiteEntry

_COLLECT_FROM_CELLS = 1_000_000


def validate_frame(
    frame: pd.DataFrame,
    entries: list[SuiteEntry],
    dataset: str,
    example_values: int,
    observe_passing: bool = False,
) -> tuple[list[dict[str, Any]], Any]:
    """Outcome of each entry (plain dicts, same order) and the Great Expectations result object.

    Unless ``observe_passing``, a first pass only says pass or fail (about 3x faster than
    counting and sampling failing rows), and a second pass details the failed expectations.
    """
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no bars in the run's log
    try:
        result = _validate_in(context, frame, entries, dataset, example_values, observe_passing)
    finally:
        # GX keeps its last context for the whole process, and the data source keeps the
        # frame: without this, a validated table stays in memory until the run ends.
        if dataset in context.data_sources.all():
            context.data_sources.delete(dataset)
        # Its batch objects also hold the frame in reference cycles, which only a full
        # collection frees; that takes ~0.3 s, worth it for a table of a million cells or more.
        if frame.size >= _COLLECT_FROM_CELLS:
            gc.collect()
    return [_outcome(r, example_values) for r in result.results], result


def _validate_in(context: Any, frame: pd.DataFrame, entries: list[SuiteEntry], dataset: str, example_values: int,
                 observe_passing: bool) -> Any:
    gx = _import_gx()
    batch = (
        context.data_sources.add_pandas(dataset)
        .add_dataframe_asset(dataset)
        .add_batch_definition_whole_dataframe("whole table")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    expectations = [_to_expectation(e, i) for i, e in enumerate(entries)]
    detailed = {"result_format": "SUMMARY", "partial_unexpected_count": max(example_values, 1)}
    result = batch.validate(
        gx.ExpectationSuite(name=dataset, expectations=expectations),
        result_format=detailed if observe_passing else {"result_format": "BOOLEAN_ONLY"},
    )
    results = _by_position(result.results)
    failed = [i for i, r in results.items() if not r.success]
    if failed and not observe_passing:
        details = batch.validate(
            gx.ExpectationSuite(name=dataset, expectations=[_to_expectation(entries[i], i) for i in failed]),
            result_format=detailed,
        )
        results |= _by_position(details.results)
    result.results = [results[i] for i in range(len(entries))]
    return result


def _by_position(results: list[Any]) -> dict[int, Any]:
    # GX does not keep the suite's order (expectations that error come first).
    return {r.expectation_config.meta["position"]: r for r in results}


def data_docs_html(result: Any) -> str:
    """The Great Expectations Data Docs page of one validation result, as one HTML document."""
    _import_gx()
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    return DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(result))


def _import_gx():
    # Nothing may prompt or phone home; GX 1.x sends nothing, this keeps it so if that changes.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def _to_expectation(entry: SuiteEntry, position: int):
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    try:
        return ExpectationConfiguration(
            type=entry.type, kwargs=entry.kwargs, severity=entry.severity, notes=entry.notes,
            meta={"position": position},
        ).to_domain_obj()
    except Exception as exc:  # GX raises several unrelated types for an unknown name or argument
        raise ConfigurationError(
            f"Expectation suite entry {position} ({entry.type} {entry.kwargs}) is not a valid Great "
            f"Expectations expectation: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None


def _outcome(result: Any, example_values: int) -> dict[str, Any]:
    config = result.expectation_config
    details = result.result or {}
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    outcome = {
        "expectation": config.type,
        "column": kwargs.get("column"),
        "severity": str(getattr(config.severity, "value", config.severity)),
        "success": bool(result.success),
        "kwargs": kwargs,
        "observed_value": details.get("observed_value"),
        "unexpected_count": details.get("unexpected_count"),
        "unexpected_percent": details.get("unexpected_percent"),
        "element_count": details.get("element_count"),
        "examples": list(details.get("partial_unexpected_list") or [])[:example_values],
    }
    if details.get("details", {}).get("mismatched"):
        outcome["mismatched"] = details["details"]["mismatched"]
    if result.exception_info and result.exception_info.get("raised_exception"):
        message = result.exception_info.get("exception_message") or ""
        outcome["error"] = message.splitlines()[0] if message else "could not be evaluated"
    return jsonable(outcome)


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars as Python numbers, NaN as null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
