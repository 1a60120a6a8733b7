"""Grafana dashboards in code: per service, SLO (one per spec), business, platform overview."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.dashboards.business import business_dashboard
from crm_observability.generators.dashboards.options import DashboardOptions
from crm_observability.generators.dashboards.panels import (
    DashboardSpec,
    Link,
    Panel,
    Query,
    Row,
    build_dashboard,
)
from crm_observability.generators.dashboards.platform import platform_dashboard
from crm_observability.generators.dashboards.service import service_dashboard
from crm_observability.generators.dashboards.slo import slo_dashboard
from crm_observability.slo.model import SLOSpec

__all__ = [
    "DashboardOptions",
    "DashboardSpec",
    "Link",
    "Panel",
    "Query",
    "Row",
    "all_dashboards",
    "all_panel_queries",
    "build_dashboard",
    "business_dashboard",
    "dashboard_specs",
    "panel_queries",
    "platform_dashboard",
    "service_dashboard",
    "slo_dashboard",
]


def dashboard_specs(
    specs: Sequence[SLOSpec] = (), options: DashboardOptions | None = None
) -> list[DashboardSpec]:
    """Every dashboard: the three fixed ones, then one per SLO spec (in the order given)."""
    fixed = [platform_dashboard(), service_dashboard(options or DashboardOptions()),
             business_dashboard()]
    return fixed + [slo_dashboard(spec) for spec in specs]


def all_dashboards(
    specs: Sequence[SLOSpec] = (), options: DashboardOptions | None = None
) -> dict[str, dict[str, Any]]:
    """Repository path (``dashboards/<uid>.json``) -> dashboard JSON data."""
    return {f"{names.DASHBOARDS_DIR}/{d.uid}.json": build_dashboard(d)
            for d in dashboard_specs(specs, options)}


def panel_queries(dashboard: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(dashboard title, panel title, expr)`` for every target of one dashboard's JSON."""
    out = []
    for panel in dashboard.get("panels", []):
        for nested in [panel, *panel.get("panels", [])]:
            for target in nested.get("targets", []):
                out.append((dashboard["title"], nested["title"], target["expr"]))
    return out


def all_panel_queries(
    specs: Sequence[SLOSpec] = (), options: DashboardOptions | None = None
) -> list[tuple[str, str, str]]:
    """``(dashboard, panel title, expr)`` for every panel query of every dashboard.

    Queries contain Grafana variables (``$__rate_interval``, ``$service``...);
    :data:`queries.GRAFANA_SUBSTITUTIONS` turns them into plain PromQL.
    """
    return [q for d in all_dashboards(specs, options).values() for q in panel_queries(d)]
