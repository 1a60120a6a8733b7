"""Build a :class:`Report` from a query API: one evaluation time, rules first, raw fallback.

1. One batched query per window reads the recording rules of every SLO at once.
2. Windows without recorded data are asked again with the raw SLI expression
   (history loaded before the rules existed), concurrently; the source is kept.
3. Burn rates, tier conditions and the budget use the generator's own tiers,
   windows and factors (:func:`tiers_for`), so the report agrees with the alerts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from crm_observability import conventions as names
from crm_observability.generators.slo_rules import alert_name, rule_labels, selector
from crm_observability.report import queries
from crm_observability.report.client import PrometheusClient, Sample
from crm_observability.report.history import fetch_history
from crm_observability.report.model import (
    FLAG_LOW_TRAFFIC,
    FLAG_NO_DATA,
    FLAG_RULES_MISSING,
    SOURCE_NONE,
    SOURCE_RAW,
    SOURCE_RULES,
    Budget,
    GroupReport,
    Report,
    SLOReport,
    TierStatus,
    WindowBurn,
)
from crm_observability.slo.durations import format_duration, parse_duration
from crm_observability.slo.model import SLO, SLOSpec
from crm_observability.slo.windows import PAGE, BurnRateTier, recorded_windows, tiers_for

T = TypeVar("T")
GroupKey = tuple[tuple[str, str], ...]
DEFAULT_WORKERS = 8


@dataclass(frozen=True)
class Plan:
    """What one SLO needs: its windows (seconds) and, with a traffic guard, its tiers' events."""

    spec: SLOSpec
    slo: SLO

    @property
    def key(self) -> tuple[str, str]:
        return (self.spec.service, self.slo.name)

    @property
    def tiers(self) -> tuple[BurnRateTier, ...]:
        return tiers_for(self.slo.period_seconds)

    @property
    def shown(self) -> tuple[int, ...]:
        """Windows in the report: the standard ones shorter than the period, then the period."""
        period = self.slo.period_seconds
        short = sorted({parse_duration(w) for w in names.REPORT_WINDOWS} - {period})
        return (*(w for w in short if w < period), period)

    @property
    def windows(self) -> tuple[int, ...]:
        tier_windows = {s for t in self.tiers for s in (t.long_window, t.short_window)}
        return tuple(sorted({*self.shown, *tier_windows}))

    @property
    def recorded(self) -> frozenset[int]:
        return frozenset({*recorded_windows(self.slo.period_seconds), self.slo.period_seconds})

    def group_key(self, labels: Mapping[str, str]) -> GroupKey:
        fixed = {"__name__", *rule_labels(self.spec, self.slo)}
        return tuple(sorted((k, v) for k, v in labels.items() if k not in fixed))


def run_all(jobs: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Run independent queries concurrently (results in job order)."""
    if len(jobs) <= 1 or workers <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        return list(pool.map(lambda job: job(), jobs))


def build_report(
    client: PrometheusClient,
    specs: Iterable[SLOSpec],
    at: float | None = None,
    *,
    with_history: bool = False,
    history_seconds: int | None = None,
    points: int = 60,
    workers: int = DEFAULT_WORKERS,
) -> Report:
    """Evaluate every SLO of ``specs`` at ``at`` (default: now, fixed once)."""
    at = time.time() if at is None else at
    spec_list = list(specs)
    plans = [Plan(spec, slo) for spec in spec_list for slo in spec.slos]
    batch = queries.services_selector(s.service for s in spec_list) if plans else ""

    # 1. recorded ratios, one query per window for all SLOs
    by_window: dict[int, set[int]] = {}
    for i, plan in enumerate(plans):
        for w in plan.windows:
            by_window.setdefault(w, set()).add(i)
    window_list = sorted(by_window)
    rule_results = run_all([_instant(client, queries.rule_ratio(format_duration(w), batch), at)
                            for w in window_list], workers)
    recorded: dict[tuple[tuple[str, str], int], list[Sample]] = {}
    for w, samples in zip(window_list, rule_results, strict=True):
        for sample in samples:
            labels = sample.labels
            key = (labels.get(names.LABEL_SERVICE, ""), labels.get(names.LABEL_SLO, ""))
            recorded.setdefault((key, w), []).append(sample)

    # 2. raw fallback where the rules have nothing; traffic guards
    raw_jobs: list[Callable[[], list[Sample]]] = []
    raw_keys: list[tuple[int, str, int]] = []  # (plan index, "ratio"|"events", seconds)
    for i, plan in enumerate(plans):
        for w in plan.windows:
            if (plan.key, w) not in recorded:
                raw_keys.append((i, "ratio", w))
                raw_jobs.append(_instant(client, queries.raw_ratio(plan.slo, w), at))
        if plan.slo.alerting.min_events is not None:
            sel = selector(plan.spec, plan.slo)
            for tier in plan.tiers:
                events_expr = queries.rule_events(tier.long_window, sel)
                raw_keys.append((i, "events", tier.long_window))
                raw_jobs.append(_events(client, events_expr, queries.raw_events(
                    plan.slo, tier.long_window), at))
    raw: dict[tuple[int, str, int], list[Sample]] = dict(
        zip(raw_keys, run_all(raw_jobs, workers), strict=True))

    all_groups: list[list[GroupReport]] = []
    history_jobs: list[Callable[[], list[GroupReport]]] = []
    for i, plan in enumerate(plans):
        ratios: dict[int, tuple[list[Sample], str]] = {}
        for w in plan.windows:
            if (plan.key, w) in recorded:
                ratios[w] = (recorded[(plan.key, w)], SOURCE_RULES)
            else:
                found = raw[(i, "ratio", w)]
                ratios[w] = (found, SOURCE_RAW if found else SOURCE_NONE)
        events = {w: found for (j, kind, w), found in raw.items() if j == i and kind == "events"}
        all_groups.append(_groups(plan, ratios, events))
        if with_history:
            history_jobs.append(_history(client, plan, all_groups[-1],
                                         {w: src for w, (_, src) in ratios.items()}, at,
                                         history_seconds or plan.slo.period_seconds, points))
    if with_history:
        all_groups = run_all(history_jobs, workers)
    slo_reports = [SLOReport(
        service=plan.spec.service, name=plan.slo.name, description=plan.slo.description,
        objective=float(plan.slo.objective), period=format_duration(plan.slo.period_seconds),
        period_seconds=plan.slo.period_seconds, sli_kind=plan.slo.sli.kind,
        groups=tuple(groups)) for plan, groups in zip(plans, all_groups, strict=True)]
    return Report(prometheus=client.url, at=at, slos=tuple(slo_reports),
                  sources=tuple(s.source for s in spec_list))


def _instant(client: PrometheusClient, expr: str, at: float) -> Callable[[], list[Sample]]:
    return lambda: client.query(expr, at)


def _history(client: PrometheusClient, plan: Plan, groups: list[GroupReport],
             sources: dict[int, str], at: float, span: int,
             points: int) -> Callable[[], list[GroupReport]]:
    return lambda: fetch_history(client, plan, groups, sources, at, span, points)


def _events(client: PrometheusClient, rule_expr: str, raw_expr: str | None,
            at: float) -> Callable[[], list[Sample]]:
    def run() -> list[Sample]:
        found = client.query(rule_expr, at)
        if not found and raw_expr is not None:
            found = client.query(raw_expr, at)
        return found

    return run


def _groups(plan: Plan, ratios: Mapping[int, tuple[list[Sample], str]],
            events: Mapping[int, list[Sample]]) -> list[GroupReport]:
    keys: set[GroupKey] = set()
    for samples, _ in ratios.values():
        keys.update(plan.group_key(s.labels) for s in samples)
    if not keys:
        keys.add(())
    return [_group(plan, key, ratios, events) for key in sorted(keys)]


def _pick(plan: Plan, samples: Iterable[Sample], key: GroupKey) -> float | None:
    values = [s.value for s in samples if plan.group_key(s.labels) == key]
    if not values:
        # Totals of a grouped SLO may be ungrouped (one series for all groups).
        values = [s.value for s in samples if plan.group_key(s.labels) == ()]
    return values[0] if values else None


def _group(plan: Plan, key: GroupKey, ratios: Mapping[int, tuple[list[Sample], str]],
           events: Mapping[int, list[Sample]]) -> GroupReport:
    slo = plan.slo
    budget_ratio = float(slo.error_budget)
    burns: dict[int, float | None] = {}
    flags: set[str] = set()
    for w, (samples, source) in ratios.items():
        ratio = _pick(plan, samples, key)
        burns[w] = None if ratio is None else ratio / budget_ratio
        if source != SOURCE_RULES and w in plan.recorded:
            flags.add(FLAG_RULES_MISSING)
    windows = []
    for w in plan.shown:
        samples, source = ratios[w]
        ratio = _pick(plan, samples, key)
        windows.append(WindowBurn(format_duration(w), w, ratio, burns[w],
                                  source if ratio is not None else SOURCE_NONE,
                                  is_period=w == slo.period_seconds))
    tiers = []
    for tier in plan.tiers:
        tier_status = _tier(plan, tier, burns, events.get(tier.long_window), key)
        if tier_status.low_traffic:
            flags.add(FLAG_LOW_TRAFFIC)
        tiers.append(tier_status)
    period_ratio = windows[-1].error_ratio
    budget = None if period_ratio is None else _budget(period_ratio, budget_ratio,
                                                        slo.period_seconds)
    if budget is None:
        flags.add(FLAG_NO_DATA)
    return GroupReport(
        labels=dict(key), sli=None if period_ratio is None else 1 - period_ratio,
        budget=budget, windows=tuple(windows), tiers=tuple(tiers),
        exhaustion_seconds=_exhaustion(budget, burns.get(queries.FIVE_MINUTES),
                                       slo.period_seconds),
        flags=tuple(sorted(flags)))


def _tier(plan: Plan, tier: BurnRateTier, burns: Mapping[int, float | None],
          events: list[Sample] | None, key: GroupKey) -> TierStatus:
    alerting = plan.slo.alerting
    disabled = (alerting.page if tier.name == PAGE else alerting.ticket).disabled
    long_burn, short_burn = burns.get(tier.long_window), burns.get(tier.short_window)
    factor = float(tier.factor)
    burning = (long_burn is not None and short_burn is not None
               and long_burn > factor and short_burn > factor)
    low_traffic = False
    if alerting.min_events is not None:
        count = _pick(plan, events or [], key)
        low_traffic = count is None or count < alerting.min_events
    return TierStatus(
        alert=alert_name(tier), severity=tier.name, long_window=tier.long_window_text,
        short_window=tier.short_window_text, factor=factor, long_burn=long_burn,
        short_burn=short_burn, holds=burning and not disabled and not low_traffic,
        disabled=disabled, low_traffic=low_traffic)


def _budget(period_ratio: float, allowed: float, period_seconds: int) -> Budget:
    consumed = period_ratio / allowed
    total = allowed * period_seconds
    return Budget(allowed_error_ratio=allowed, consumed=consumed, remaining=1 - consumed,
                  total_seconds=total, consumed_seconds=consumed * total,
                  remaining_seconds=(1 - consumed) * total,
                  remaining_at_allowed_rate_s=(1 - consumed) * period_seconds)


def _exhaustion(budget: Budget | None, burn: float | None, period_seconds: int) -> float | None:
    """Seconds until the budget is gone at ``burn`` (a burn of 1 spends it in one period)."""
    if budget is None:
        return None
    if budget.exhausted:
        return 0.0
    if burn is None or burn <= 0:
        return None
    return budget.remaining * period_seconds / burn
