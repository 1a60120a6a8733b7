"""SLO dashboards, one per spec file: a row per SLO, read from the spec.

Each row shows the SLI over the SLO period, the error budget left, the burn
rate per window and which burn-rate alert tiers fire.  Queries use the
recording rules of :mod:`crm_observability.generators.slo_rules` (names from
conventions); thresholds, windows and tiers come from the spec, so the
dashboard always matches the rules generated from the same file.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import PurePath

from crm_observability import conventions as names
from crm_observability.generators.dashboards.panels import DashboardSpec, Panel, Query, Row
from crm_observability.generators.slo_rules import alert_name, plain, quote, selector
from crm_observability.slo.durations import format_duration, parse_duration
from crm_observability.slo.model import SLO, SLOSpec
from crm_observability.slo.windows import recorded_windows, tiers_for

UID_PREFIX = "crm-slo-"
_PANELS_PER_ROW = 100  # panel ids: 100 * (SLO position + 1) + panel number
FIRING_TIER = (("0", "quiet", "green"), ("1", "FIRING", "red"))


def dashboard_uid(spec: SLOSpec) -> str:
    return f"{UID_PREFIX}{spec.service}"[:40]  # Grafana caps uids at 40 characters


def _tier_queries(spec: SLOSpec, slo: SLO) -> tuple[Query, ...]:
    """One 1/0 series per enabled tier: is its alert firing now (``for`` included)?"""
    queries = []
    for tier in tiers_for(slo.period_seconds):
        settings = slo.alerting.page if tier.name == "page" else slo.alerting.ticket
        if settings.disabled:
            continue
        matchers = ", ".join([
            f"{names.LABEL_ALERTNAME}={quote(alert_name(tier))}",
            f"{names.LABEL_SERVICE}={quote(spec.service)}",
            f"{names.LABEL_SLO}={quote(slo.name)}",
            f'{names.LABEL_ALERTSTATE}="firing"',
        ])
        legend = (f"{tier.name} {tier.speed}: {plain(tier.factor)}x over "
                  f"{tier.long_window_text} and {tier.short_window_text}")
        queries.append(Query(f"max({names.ALERTS_SERIES}{{{matchers}}}) or vector(0)",
                             legend, instant=True))
    return tuple(queries)


def _burn_queries(spec: SLOSpec, slo: SLO) -> tuple[Query, ...]:
    sel = selector(spec, slo)
    budget = plain(slo.error_budget)
    recorded = set(recorded_windows(slo.period_seconds))
    windows = [w for w in names.REPORT_WINDOWS if parse_duration(w) in recorded]
    return tuple(Query(f"{names.slo_error_ratio_rule(w)}{sel} / {budget}", w) for w in windows)


def slo_row(spec: SLOSpec, slo: SLO, position: int) -> Row:
    base = _PANELS_PER_ROW * (position + 1)
    sel = selector(spec, slo)
    period = format_duration(slo.period_seconds)
    objective = slo.objective / Decimal(100)
    target = f"objective {plain(slo.objective)}% over {period}"
    panels = [
        Panel(base + 1, f"SLI over {period}", f"Share of good events over the SLO period "
              f"({target}); red below the objective.", "percentunit",
              (Query(f"1 - {names.slo_error_ratio_rule(period)}{sel}", "SLI", instant=True),),
              kind="stat", width=4, height=6, decimals=3,
              thresholds=((None, "red"), (float(objective), "green"))),
        Panel(base + 2, "Error budget remaining", f"Share of the {period} error budget "
              f"({plain(slo.error_budget * 100)}% of events) still unspent.", "percentunit",
              (Query(f"{names.SLO_BUDGET_REMAINING_RULE}{sel}", "remaining", instant=True),),
              kind="stat", width=4, height=6, decimals=1,
              thresholds=((None, "red"), (0.0, "orange"), (0.25, "green"))),
        Panel(base + 3, "Burn rate per window", "Error ratio over each window divided by "
              "the error budget: 1 spends the budget exactly over the period.", "suffix:x",
              _burn_queries(spec, slo), min=0, width=10, height=6,
              thresholds=((1.0, "orange"),)),
    ]
    tiers = _tier_queries(spec, slo)
    if tiers:  # every tier may be disabled
        panels.append(Panel(base + 4, "Alert tiers firing", "Multi-window burn-rate alerts of "
                            "this SLO (1 = firing now, after their for).", "short", tiers,
                            kind="stat", width=6, height=6, mappings=FIRING_TIER))
    return Row(base, f"{slo.name}: {slo.description or target}", tuple(panels))


def slo_dashboard(spec: SLOSpec) -> DashboardSpec:
    return DashboardSpec(
        uid=dashboard_uid(spec), title=f"SLOs: {spec.service}",
        tags=("crm", "slo", spec.service),
        description=(f"Service level objectives of {spec.service} "
                     f"(from {PurePath(spec.source).name})."),
        rows=tuple(slo_row(spec, slo, i) for i, slo in enumerate(spec.slos)),
        variables=(),
    )
