"""Semantic checks of a loaded spec, before anything is generated.

Each failure is a :class:`SpecError` naming the file, the field path as written in
that file, and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

import promql_parser

from crm_observability import conventions as names
from crm_observability.slo.errors import SpecError
from crm_observability.slo.model import (
    SLO,
    WINDOW_PLACEHOLDER,
    EventsSLI,
    LatencySLI,
    RawSLI,
    SLOSpec,
)
from crm_observability.slo.windows import tiers_for

SLO_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
SERVICE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
MIN_PERIOD = 86400  # shorter periods squeeze all tiers onto the 5m minimum window
# Labels the generator sets itself; a spec may not override them.
RESERVED_LABELS = frozenset(
    {names.LABEL_SLO, names.LABEL_SERVICE, names.LABEL_SEVERITY, names.LABEL_LONG_WINDOW,
     names.LABEL_SHORT_WINDOW, "alertname"}
)


def validate(spec: SLOSpec) -> None:
    """Raise :class:`SpecError` for the first problem found; return quietly when usable."""
    file = spec.source
    if not SERVICE_NAME.match(spec.service):
        raise SpecError(file, "service", f"{spec.service!r} must be letters, digits, '-', '_' "
                        "or '.' (it names the rule file)")
    _labels(file, "labels", spec.labels)
    seen: dict[str, str] = {}
    for slo in spec.slos:
        if slo.name in seen:
            raise SpecError(file, slo.where("name"), f"duplicate SLO name {slo.name!r} "
                            f"(also at {seen[slo.name]})")
        seen[slo.name] = slo.where("name")
        _slo(file, slo)


def _slo(file: str, slo: SLO) -> None:
    if not SLO_NAME.match(slo.name):
        raise SpecError(file, slo.where("name"), f"{slo.name!r} must match [a-z0-9-]+ "
                        "(lower-case letters, digits and dashes)")
    if not Decimal(0) < slo.objective < Decimal(100):
        raise SpecError(file, slo.where("objective"), f"{slo.objective} must be a percent "
                        "strictly between 0 and 100")
    if slo.period_seconds < MIN_PERIOD:
        raise SpecError(file, slo.where("period"), "must be at least 1d")
    _labels(file, slo.where("labels"), slo.labels)
    _labels(file, slo.where("alerting.labels"), slo.alerting.labels)
    _sli(file, slo)
    budget = slo.error_budget
    for tier in tiers_for(slo.period_seconds):
        _labels(file, slo.where(f"alerting.{tier.name}.labels"), slo.tier_settings(tier).labels)
        if slo.tier_enabled(tier) and tier.factor * budget > 1:
            raise SpecError(
                file, slo.where(f"alerting.{tier.name}"),
                f"impossible alert: burn factor {tier.factor} over {tier.long_window_text} x "
                f"error budget {budget} = {tier.factor * budget} > 1 (raise the objective "
                f"or disable this tier: disabled: [{tier.speed}])")
    if slo.alerting.min_events is not None and isinstance(slo.sli, RawSLI):
        raise SpecError(file, slo.where("alerting.min_events"),
                        "needs an events or latency SLI (a raw ratio has no event count)")


def _sli(file: str, slo: SLO) -> None:
    sli = slo.sli
    if isinstance(sli, EventsSLI):
        _query(file, slo.where("sli.events.error_query"), sli.error_query)
        _query(file, slo.where("sli.events.total_query"), sli.total_query)
    elif isinstance(sli, RawSLI):
        _query(file, slo.where("sli.raw.error_ratio_query"), sli.error_ratio_query)
    else:
        _latency(file, slo, sli)


def _query(file: str, field: str, query: str) -> None:
    if WINDOW_PLACEHOLDER not in query:
        raise SpecError(file, field, f"query has no {WINDOW_PLACEHOLDER} placeholder for the "
                        "rate window")
    try:
        promql_parser.parse(query.replace(WINDOW_PLACEHOLDER, "5m"))
    except ValueError as exc:
        raise SpecError(file, field, f"PromQL does not parse: {exc}") from None


def _latency(file: str, slo: SLO, sli: LatencySLI) -> None:
    where = "sli.latency"
    if not METRIC_NAME.match(sli.histogram):
        raise SpecError(file, slo.where(f"{where}.histogram"),
                        f"{sli.histogram!r} is not a metric name")
    for label in sli.selector:
        if not LABEL_NAME.match(label) or label == "le":
            raise SpecError(file, slo.where(f"{where}.selector.{label}"),
                            "is not a usable label name")
    if sli.threshold <= 0:
        raise SpecError(file, slo.where(f"{where}.threshold"), "must be more than 0 seconds")
    buckets = sli.buckets
    if buckets is None and sli.histogram == names.HTTP_SERVER_DURATION:
        buckets = tuple(Decimal(str(b)) for b in names.HTTP_DURATION_BUCKETS)
    if buckets is not None and sli.threshold not in buckets:
        shown = ", ".join(str(b.normalize()) for b in buckets)
        raise SpecError(file, slo.where(f"{where}.threshold"),
                        f"{sli.threshold} is not a bucket boundary of {sli.histogram} ({shown}); "
                        "the SLI could not be measured exactly")


def _labels(file: str, field: str, labels: Mapping[str, str]) -> None:
    for name in labels:
        if not LABEL_NAME.match(name) or name.startswith("__"):
            raise SpecError(file, f"{field}.{name}", "is not a valid Prometheus label name")
        if name in RESERVED_LABELS:
            raise SpecError(file, f"{field}.{name}", "is set by the generator and cannot be "
                            "overridden")
