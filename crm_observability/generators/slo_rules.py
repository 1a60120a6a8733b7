"""Pure builders: an :class:`SLOSpec` -> Prometheus rule groups (plain dicts), and their text.

Per SLO one group: SLI recordings (error ratio per window and over the period),
metadata recordings, then alerts (four burn-rate tiers + absent data).
See docs/slo.md for why each expression has its shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.render import render_yaml
from crm_observability.slo.durations import format_duration
from crm_observability.slo.model import (
    SLO,
    WINDOW_PLACEHOLDER,
    EventsSLI,
    LatencySLI,
    RawSLI,
    SLOSpec,
    TierAlerting,
)
from crm_observability.slo.windows import BurnRateTier, recorded_windows, tiers_for

FORMATS = ("prometheus", "operator")
# Used when a spec names no runbook: what to do for each SLO alert.
DEFAULT_RUNBOOK_URL = (
    "https://github.com/crm-platform/crm-observability/blob/main/docs/slo.md#runbook"
)
_FIVE_MINUTES = 300


def build_rule_groups(spec: SLOSpec) -> list[dict[str, Any]]:
    """Rule groups for every SLO of ``spec``, in spec order (pure, deterministic)."""
    # One group per SLO: rules of a group run in order at one timestamp, so the
    # alerts always read this evaluation's ratios (separate groups run on their
    # own schedules and may read a value one interval old, or none).
    return [
        {"name": f"{names.SLO_RULE_PREFIX}-{spec.service}-{slo.name}",
         "rules": [*sli_rules(spec, slo), *meta_rules(spec, slo), *alert_rules(spec, slo)]}
        for slo in spec.slos
    ]


def render_rule_file(spec: SLOSpec, format: str = "prometheus") -> str:
    """The rule file text: a Prometheus rule file or a prometheus-operator PrometheusRule."""
    groups = build_rule_groups(spec)
    header = f"source: {PurePath(spec.source).name}"
    if format == "prometheus":
        return render_yaml({"groups": groups}, header=header, compact=True)
    if format == "operator":
        resource = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {
                "name": f"{_dns_label(spec.service)}-slo",
                "labels": {"app.kubernetes.io/managed-by": "crm-obs",
                           "app.kubernetes.io/name": spec.service},
            },
            "spec": {"groups": groups},
        }
        return render_yaml(resource, header=header, compact=True)
    raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")


# --- SLI recordings -----------------------------------------------------------


def sli_rules(spec: SLOSpec, slo: SLO) -> list[dict[str, Any]]:
    labels = rule_labels(spec, slo)
    sel = selector(spec, slo)
    # The 5m rates carry only slo/service so a label edit never splits the
    # period sums below (Sloth #311).
    base = {names.LABEL_SERVICE: spec.service, names.LABEL_SLO: slo.name}
    ratio5m = names.slo_error_ratio_rule("5m")
    error_rate = names.SLO_ERROR_RATE_RULE.format(window="5m")
    total_rate = names.SLO_TOTAL_RATE_RULE.format(window="5m")
    period = format_duration(slo.period_seconds)
    rules: list[dict[str, Any]] = []
    if isinstance(slo.sli, RawSLI):
        for seconds in recorded_windows(slo.period_seconds):
            window = format_duration(seconds)
            # ">= 0" drops NaN (0/0 when there is no traffic): no series, no flapping.
            expr = f"({fill_window(slo.sli.error_ratio_query, window)}) >= 0"
            rules.append(_record(names.slo_error_ratio_rule(window), expr, labels))
        # A raw ratio has no event counts: the period value is a time average.
        period_expr = f"avg_over_time({ratio5m}{sel}[{period}])"
    else:
        error, total = event_queries(slo)
        rules.append(_record(error_rate, error_count_query(error, total, "5m", slo), base))
        rules.append(_record(total_rate, fill_window(total, "5m"), base))
        rules.append(_record(ratio5m, f"{error_rate}{sel} / ({total_rate}{sel} > 0)", labels))
        for seconds in recorded_windows(slo.period_seconds):
            window = format_duration(seconds)
            if seconds == _FIVE_MINUTES:
                continue
            rules.append(_record(names.slo_error_ratio_rule(window),
                                 event_ratio_query(slo, window), labels))
        if slo.alerting.min_events is not None:
            # Event rates over each alert's long window, for the minimum-events guard.
            for seconds in sorted({t.long_window for t in tiers_for(slo.period_seconds)}):
                window = format_duration(seconds)
                name = names.SLO_TOTAL_RATE_RULE.format(window=window)
                rules.append(_record(name, fill_window(total, window), base))
        # Errors over the period / requests over the period (weighted, Sloth #241);
        # summing the recorded 5m rates keeps a 30-day window cheap.
        period_expr = (f"sum_over_time({error_rate}{sel}[{period}])\n/\n"
                       f"(sum_over_time({total_rate}{sel}[{period}]) > 0)")
    rules.append(_record(names.slo_error_ratio_rule(period), period_expr, labels))
    return rules


def event_queries(slo: SLO) -> tuple[str, str]:
    """(error query, total query), both with ``{{window}}``."""
    sli = slo.sli
    if isinstance(sli, EventsSLI):
        return sli.error_query, sli.total_query
    assert isinstance(sli, LatencySLI)
    matchers = [f"{k}={quote(v)}" for k, v in sorted(sli.selector.items())]
    count = f"{sli.histogram}_count{{{','.join(matchers)}}}"
    good = f"{sli.histogram}_bucket{{{','.join([*matchers, _le_matcher(sli.threshold)])}}}"
    total = f"sum(rate({count}[{WINDOW_PLACEHOLDER}]))"
    return f"{total} - sum(rate({good}[{WINDOW_PLACEHOLDER}]))", total


def event_ratio_query(slo: SLO, window: str) -> str:
    """Errors over requests in ``window`` for an events or latency SLI; no series at 0 traffic."""
    error, total = event_queries(slo)
    errors = error_count_query(error, total, window, slo)
    return f"({errors}) / (({fill_window(total, window)}) > 0)"


def error_count_query(error: str, total: str, window: str, slo: SLO) -> str:
    if isinstance(slo.sli, LatencySLI):
        return fill_window(error, window)
    # Error series often do not exist until the first error: count them as 0.
    return f"({fill_window(error, window)}) or (({fill_window(total, window)}) * 0)"


def _le_matcher(threshold: Decimal) -> str:
    # Clients write le="1" (Go) or le="1.0" (Python): match both spellings.
    text = plain(threshold)
    if "." not in text:
        return f'le=~"{text}|{text}\\\\.0"'
    return f"le={quote(text)}"


# --- metadata -------------------------------------------------------------------


def meta_rules(spec: SLOSpec, slo: SLO) -> list[dict[str, Any]]:
    labels = rule_labels(spec, slo)
    sel = selector(spec, slo)
    budget = plain(slo.error_budget)
    period = format_duration(slo.period_seconds)
    period_ratio = names.slo_error_ratio_rule(period)
    days = plain(Decimal(slo.period_seconds) / 86400)
    info = {**labels, names.LABEL_OBJECTIVE: plain(slo.objective), names.LABEL_PERIOD: period,
            names.LABEL_SLI_KIND: slo.sli.kind}
    return [
        _record(names.SLO_OBJECTIVE_RULE, f"vector({plain(slo.objective / 100)})", labels),
        _record(names.SLO_ERROR_BUDGET_RULE, f"vector({budget})", labels),
        _record(names.SLO_PERIOD_DAYS_RULE, f"vector({days})", labels),
        _record(names.SLO_CURRENT_BURN_RULE,
                f"{names.slo_error_ratio_rule('5m')}{sel} / {budget}", labels),
        _record(names.SLO_PERIOD_BURN_RULE, f"{period_ratio}{sel} / {budget}", labels),
        _record(names.SLO_BUDGET_REMAINING_RULE, f"1 - {names.SLO_PERIOD_BURN_RULE}{sel}", labels),
        _record(names.SLO_INFO_RULE, "vector(1)", dict(sorted(info.items()))),
    ]


# --- alerts -------------------------------------------------------------------------


def alert_name(tier: BurnRateTier) -> str:
    return f"{names.SLO_BURN_ALERT_PREFIX}{tier.name.title()}{tier.speed.title()}"


def alert_rules(spec: SLOSpec, slo: SLO) -> list[dict[str, Any]]:
    rules = []
    for tier in tiers_for(slo.period_seconds):
        if slo.tier_enabled(tier):
            rules.append(_burn_alert(spec, slo, tier, slo.tier_settings(tier)))
    if slo.alerting.absent_for_seconds is not None:
        rules.append(_absent_alert(spec, slo))
    return rules


def _burn_alert(
    spec: SLOSpec, slo: SLO, tier: BurnRateTier, settings: TierAlerting
) -> dict[str, Any]:
    sel = selector(spec, slo)
    budget = plain(slo.error_budget)
    factor = plain(tier.factor)
    long_w, short_w = tier.long_window_text, tier.short_window_text
    expr = (f"{names.slo_error_ratio_rule(long_w)}{sel} / {budget} > {factor}\nand\n"
            f"{names.slo_error_ratio_rule(short_w)}{sel} / {budget} > {factor}")
    if slo.alerting.min_events is not None:
        # Low traffic: a handful of errors must not page (Sloth #666, Pyrra #1925).
        extra = sorted({*spec.labels, *slo.labels})
        on = f" ignoring({', '.join(extra)})" if extra else ""
        total = names.SLO_TOTAL_RATE_RULE.format(window=long_w)
        expr += f"\nand{on}\n{total}{sel} * {tier.long_window} >= {slo.alerting.min_events}"
    labels = {
        **rule_labels(spec, slo), **slo.alerting.labels, **settings.labels,
        names.LABEL_SEVERITY: tier.name,
        names.LABEL_LONG_WINDOW: long_w,
        names.LABEL_SHORT_WINDOW: short_w,
    }
    percent = plain(tier.budget_fraction * 100)
    annotations = {
        "runbook_url": DEFAULT_RUNBOOK_URL,
        "summary": f"{spec.service} SLO {slo.name} is burning its error budget too fast",
        "description": (
            f"{spec.service} SLO {slo.name} ({plain(slo.objective)}% over "
            f"{format_duration(slo.period_seconds)}) burns its error budget "
            f"{{{{ $value | humanize }}}}x as fast as allowed over {long_w} (threshold "
            f"{factor}x over {long_w} and {short_w}: {percent}% of the budget in {long_w})."),
        **slo.alerting.annotations, **settings.annotations,
    }
    rule: dict[str, Any] = {"alert": alert_name(tier), "expr": expr}
    if settings.for_seconds:
        rule["for"] = format_duration(settings.for_seconds)
    rule["labels"] = dict(sorted(labels.items()))
    rule["annotations"] = dict(sorted(annotations.items()))
    return rule


def _absent_alert(spec: SLOSpec, slo: SLO) -> dict[str, Any]:
    sel = selector(spec, slo)
    watched = (names.slo_error_ratio_rule("5m") if isinstance(slo.sli, RawSLI)
               else names.SLO_TOTAL_RATE_RULE.format(window="5m"))
    labels = {**rule_labels(spec, slo), **slo.alerting.labels, names.LABEL_SEVERITY: "ticket"}
    annotations = {
        "summary": f"{spec.service} SLO {slo.name} has no SLI data",
        "description": (f"The SLI series of {spec.service} SLO {slo.name} ({watched}) are "
                        "missing: the service is not scraped or its metrics were renamed; "
                        "burn-rate alerts cannot fire."),
        "runbook_url": slo.alerting.annotations.get("runbook_url", DEFAULT_RUNBOOK_URL),
    }
    assert slo.alerting.absent_for_seconds is not None
    return {
        "alert": names.SLO_ABSENT_ALERT,
        "expr": f"absent({watched}{sel})",
        "for": format_duration(slo.alerting.absent_for_seconds),
        "labels": dict(sorted(labels.items())),
        "annotations": dict(sorted(annotations.items())),
    }


# --- helpers --------------------------------------------------------------------------


def rule_labels(spec: SLOSpec, slo: SLO) -> dict[str, str]:
    """Labels on every rule of ``slo``: spec labels, SLO labels, then service and slo."""
    labels = {**spec.labels, **slo.labels,
              names.LABEL_SERVICE: spec.service, names.LABEL_SLO: slo.name}
    return dict(sorted(labels.items()))


def selector(spec: SLOSpec, slo: SLO) -> str:
    return (f"{{{names.LABEL_SERVICE}={quote(spec.service)},"
            f"{names.LABEL_SLO}={quote(slo.name)}}}")


def quote(value: str) -> str:
    """A PromQL string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def plain(number: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros (``0.001``, ``14.4``, ``6``)."""
    text = format(number.normalize(), "f")
    return text


def _dns_label(name: str) -> str:
    """A Kubernetes-safe resource name (lower case, digits, dashes)."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def fill_window(query: str, window: str) -> str:
    return query.replace(WINDOW_PLACEHOLDER, window)


def _record(name: str, expr: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"record": name, "expr": expr, "labels": dict(labels)}
