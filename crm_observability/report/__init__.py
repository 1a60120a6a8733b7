"""SLO burn-rate reports from any Prometheus-compatible query API.

``build_report`` evaluates every SLO at one instant (recording rules first, raw SLI
queries where the rules have no data); the renderers turn the frozen
:class:`Report` into a table, JSON, Markdown or one self-contained HTML file.
"""

from __future__ import annotations

from crm_observability.report.client import PrometheusClient, QueryError, Sample, Series
from crm_observability.report.compute import build_report
from crm_observability.report.model import (
    Budget,
    GroupReport,
    History,
    Report,
    SLOReport,
    TierStatus,
    WindowBurn,
)
from crm_observability.report.render_html import render_html
from crm_observability.report.render_json import render_json, report_to_dict
from crm_observability.report.render_markdown import render_markdown
from crm_observability.report.render_table import render_table

__all__ = [
    "Budget",
    "GroupReport",
    "History",
    "PrometheusClient",
    "QueryError",
    "Report",
    "SLOReport",
    "Sample",
    "Series",
    "TierStatus",
    "WindowBurn",
    "build_report",
    "render_html",
    "render_json",
    "render_markdown",
    "render_table",
    "report_to_dict",
]
