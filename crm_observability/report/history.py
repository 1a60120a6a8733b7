"""Chart data for one SLO: budget remaining over time and burn rate per window over time.

Budget remaining at time t is ``1 - error ratio over the period ending at t /
allowed ratio`` (what ``crm_slo:period_error_budget_remaining:ratio`` records), so
the chart's last point is the report's number.  Each series is read from the
same source (rules or raw SLI) as the report's instant value for that window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from crm_observability.generators.slo_rules import selector
from crm_observability.report import queries
from crm_observability.report.client import PrometheusClient, Series
from crm_observability.report.model import SOURCE_RAW, SOURCE_RULES, GroupReport, History
from crm_observability.slo.durations import format_duration

if TYPE_CHECKING:
    from crm_observability.report.compute import Plan

MIN_STEP_S = 15


def fetch_history(client: PrometheusClient, plan: Plan, groups: Sequence[GroupReport],
                  sources: Mapping[int, str], at: float, span_seconds: int,
                  points: int) -> list[GroupReport]:
    """``groups`` with :class:`History` attached (range queries ending at ``at``)."""
    step = max(MIN_STEP_S, span_seconds // max(points, 1))
    start = at - span_seconds
    sel = selector(plan.spec, plan.slo)
    allowed = float(plan.slo.error_budget)
    ranges: dict[int, list[Series]] = {}
    for w in plan.shown:
        rules = sources.get(w) == SOURCE_RULES
        expr = (queries.rule_ratio(format_duration(w), sel) if rules
                else queries.raw_ratio(plan.slo, w))
        ranges[w] = client.query_range(expr, start, at, step)
    period = plan.slo.period_seconds
    out = []
    for group in groups:
        key = tuple(sorted(group.labels.items()))
        picked = {w: _points(plan, series, key) for w, series in ranges.items()}
        history = History(
            start=start, end=at,
            budget_remaining=tuple((t, 1 - v / allowed) for t, v in picked[period]),
            burn_rates={format_duration(w): tuple((t, v / allowed) for t, v in pts)
                        for w, pts in picked.items() if w != period},
            source=SOURCE_RULES if sources.get(period) == SOURCE_RULES else SOURCE_RAW)
        out.append(dataclasses.replace(group, history=history))
    return out


def _points(plan: Plan, series: list[Series],
            key: tuple[tuple[str, str], ...]) -> tuple[tuple[float, float], ...]:
    for s in series:
        if plan.group_key(s.labels) == key:
            return s.points
    return ()
