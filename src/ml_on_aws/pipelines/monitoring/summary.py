"""The monitoring report as one HTML page, with distribution plots of reference and live data
inlined as PNG images (one self-contained file). matplotlib is imported here only."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
import pandas as pd

from ml_on_aws.core.dtypes import is_numeric
from ml_on_aws.core.payloads import PREDICTION
from ml_on_aws.pipelines.drift_statistics import column_table_html
from ml_on_aws.pipelines.shared import pyplot

# Categories drawn per column (the most frequent in reference and live together).
_TOP_CATEGORIES = 12
_REFERENCE, _LIVE = "tab:blue", "tab:orange"


def render(report: dict[str, Any], reference: pd.DataFrame, live: pd.DataFrame,
           test_predictions: pd.DataFrame, live_predictions: pd.DataFrame) -> str:
    columns = report["drift"]["columns"]
    ordered = sorted(columns, key=lambda name: not columns[name].get("drifted"))
    figures = []
    if report["rows"]:
        plt = pyplot()
        # One figure redrawn for every plot: a new figure each time (and its layout pass) cost
        # most of the time of a wide table's summary.
        figure = plt.figure(figsize=(4.2, 2.9))
        figure.subplots_adjust(left=0.14, right=0.97, top=0.9, bottom=0.3)
        try:
            figures.append(_figure(figure, "Predictions", "test set", test_predictions[PREDICTION],
                                   live_predictions[PREDICTION], report["predictions"]))
            figures += [_figure(figure, name, "reference", reference[name], live[name], columns[name])
                        for name in ordered if name in reference.columns and name in live.columns]
        finally:
            plt.close(figure)
    metrics = "".join(f"<tr><th>{html.escape(k)}</th><td>{v:.4g}</td></tr>" for k, v in report["live_metrics"].items())
    problems = "".join(f"<li>{html.escape(str(kind))}: {count}</li>" for kind, count in report["capture"]["problems"].items())
    window = report["window"]
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Monitoring report</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} td:last-child{{text-align:left}}
figure{{display:inline-block;margin:0 1em 1em 0}} figcaption{{font-size:90%}}</style></head>
<body><h1>Live traffic: {html.escape(report['verdict'])}</h1>
<p>Window {html.escape(window['start'])} to {html.escape(window['end'])} ({window['hours']:g} h, the end from
{html.escape(window.get('end_from', 'monitoring.window.end'))}):
{report['records']} requests, {report['rows']} rows; {report['unparsed_records']} captured records without rows,
{report['unparsed_responses']} without predictions.{_model_version(report)}</p>
{f"<ul>{problems}</ul>" if problems else ""}
<p>Retrain signal: <b>{report['retrain']}</b>. Drifted columns: {len(report['drifted_columns'])}
of {report['checked_columns']} ({html.escape(', '.join(report['drifted_columns'])) or 'none'}).
Prediction shift (PSI against the test set): {_number(report['prediction_shift'])}{' (drift)' if report['prediction_drifted'] else ''}.</p>
<h2>Quality on labelled traffic</h2>
{f"<table>{metrics}</table><p>{report['labelled_rows']} labelled rows.</p>" if metrics else
 f"<p>None: {html.escape(report['quality'].get('note', 'no labels matched'))}.</p>"}
<h2>Distributions (blue: reference, orange: live)</h2>
{''.join(figures) or '<p>No traffic in the window.</p>'}
<h2>Columns</h2>
{column_table_html({'columns': columns}) if columns else '<p>Nothing compared.</p>'}
</body></html>
"""


def _model_version(report: dict[str, Any]) -> str:
    version = report.get("model_version")
    return f" Model version {html.escape(version)}." if version else ""


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _figure(figure: Any, name: str, reference_name: str, reference: pd.Series, live: pd.Series,
            found: dict[str, Any]) -> str:
    """``figure`` redrawn with the two distributions, as an inline PNG with the drift reasons below."""
    figure.clear()
    ax = figure.add_subplot()
    if is_numeric(reference) and is_numeric(live):
        _histograms(ax, reference.dropna().to_numpy(dtype=float), live.dropna().to_numpy(dtype=float), reference_name)
    else:
        _category_bars(ax, reference.dropna().astype(str), live.dropna().astype(str), reference_name)
    ax.set_title(name + (" (drift)" if found.get("drifted") else ""), fontsize=10, color="tab:red" if found.get("drifted") else "black")
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    image = base64.b64encode(buffer.getvalue()).decode("ascii")
    reasons = "; ".join(found.get("reasons") or [])
    return (f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{image}">'
            f"<figcaption>{html.escape(reasons)}</figcaption></figure>")


def _histograms(ax: Any, reference: np.ndarray, live: np.ndarray, reference_name: str) -> None:
    both = np.concatenate([reference, live])
    if both.size == 0:
        return
    low, high = np.quantile(both, [0.005, 0.995]) if both.size > 1 else (both[0] - 0.5, both[0] + 0.5)
    edges = np.linspace(low, high if high > low else low + 1, 31)
    for values, label, colour in ((reference, reference_name, _REFERENCE), (live, "live", _LIVE)):
        if values.size:
            ax.hist(np.clip(values, edges[0], edges[-1]), bins=edges, density=True, histtype="step",
                    linewidth=1.5, label=label, color=colour)


def _category_bars(ax: Any, reference: pd.Series, live: pd.Series, reference_name: str) -> None:
    shares = pd.concat([reference.value_counts(normalize=True).rename(reference_name),
                        live.value_counts(normalize=True).rename("live")], axis=1).fillna(0.0)
    shares = shares.loc[shares.sum(axis=1).sort_values(ascending=False).index[:_TOP_CATEGORIES]]
    positions = np.arange(len(shares))
    ax.bar(positions - 0.2, shares[reference_name], width=0.4, label=reference_name, color=_REFERENCE)
    ax.bar(positions + 0.2, shares["live"], width=0.4, label="live", color=_LIVE)
    ax.set_xticks(positions, [label[:14] for label in shares.index], rotation=30, ha="right")
    ax.set_ylabel("share", fontsize=7)
