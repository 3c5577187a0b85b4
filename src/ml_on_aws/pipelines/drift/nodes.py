"""The drift stage's report page. Its comparison of a new batch with the reference rows the current
model was trained on is in :mod:`ml_on_aws.pipelines.drift_statistics`, shared with monitoring."""

from __future__ import annotations

import html
from typing import Any

from ml_on_aws.pipelines.drift_statistics import column_table_html


def render_drift_summary(drift_report: dict[str, Any]) -> str:
    """A one-page HTML summary: the verdict, then one row per column, drifted columns first."""
    verdict = html.escape(drift_report["verdict"])
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Drift report</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} td:last-child{{text-align:left}}</style></head>
<body><h1>Drift: {verdict}</h1>
<p>Retrain signal: <b>{drift_report['retrain']}</b>. Drifted columns: {len(drift_report['drifted_columns'])}
of {drift_report['checked_columns']} ({html.escape(', '.join(drift_report['drifted_columns'])) or 'none'}).</p>
{column_table_html(drift_report)}
</body></html>
"""
