"""Loader for the project's own format, ``apiVersion: crm-observability/v1``, ``kind: SLOSpec``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_observability.slo.fields import Fields
from crm_observability.slo.model import (
    DEFAULT_ABSENT_FOR,
    DEFAULT_PERIOD,
    SLI,
    SLO,
    Alerting,
    EventsSLI,
    LatencySLI,
    RawSLI,
    SLOSpec,
    TierAlerting,
)

API_VERSION = "crm-observability/v1"
KIND = "SLOSpec"
_TOP = {"apiVersion", "kind", "service", "labels", "slos"}
_SLO = {"name", "description", "objective", "period", "sli", "alerting", "labels"}
_ALERTING = {"page", "ticket", "labels", "annotations", "min_events", "absent"}
_TIER = {"for", "disabled", "labels", "annotations"}
_DEFAULT_FOR = {"page": 120, "ticket": 900}
_ZERO = ("0", "0s", "0m", 0)


def load_v1(doc: Mapping[str, Any], file: str) -> SLOSpec:
    f = Fields(file)
    f.unknown(doc, _TOP, "")
    service = f.text(doc, "service", "")
    raw_slos = f.get(doc, "slos", "")
    if not isinstance(raw_slos, list) or not raw_slos:
        raise f.fail("slos", "must be a non-empty list of SLOs")
    slos = tuple(_slo(f, item, f"slos[{i}]") for i, item in enumerate(raw_slos))
    return SLOSpec(service=service, slos=slos, labels=f.labels(doc, "labels", ""), source=file)


def _slo(f: Fields, raw: Any, path: str) -> SLO:
    item = f.mapping(raw, path)
    f.unknown(item, _SLO, path)
    return SLO(
        name=f.text(item, "name", path),
        description=f.text(item, "description", path, ""),
        objective=f.decimal(item, "objective", path),
        period_seconds=f.duration(item, "period", path, DEFAULT_PERIOD),
        sli=parse_sli(f, f.mapping(f.get(item, "sli", path), f"{path}.sli"), f"{path}.sli"),
        alerting=_alerting(f, f.section(item, "alerting", path), f"{path}.alerting"),
        labels=f.labels(item, "labels", path),
        path=path,
    )


def parse_sli(f: Fields, sli: Mapping[str, Any], path: str) -> SLI:
    """One of ``events``, ``latency``, ``raw`` (exactly one)."""
    kinds = [k for k in ("events", "latency", "raw") if k in sli]
    f.unknown(sli, {"events", "latency", "raw"}, path)
    if len(kinds) != 1:
        raise f.fail(path, "must have exactly one of events, latency, raw")
    kind = kinds[0]
    body = f.section(sli, kind, path)
    where = f"{path}.{kind}"
    if kind == "events":
        f.unknown(body, {"error_query", "total_query"}, where)
        return EventsSLI(f.text(body, "error_query", where), f.text(body, "total_query", where))
    if kind == "raw":
        f.unknown(body, {"error_ratio_query"}, where)
        return RawSLI(f.text(body, "error_ratio_query", where))
    f.unknown(body, {"histogram", "selector", "threshold", "buckets"}, where)
    buckets = f.get(body, "buckets", where, None)
    if buckets is not None:
        if not isinstance(buckets, list) or not buckets:
            raise f.fail(f"{where}.buckets", "must be a non-empty list of bucket bounds")
        bounds = tuple(f.number(b, f"{where}.buckets[{i}]") for i, b in enumerate(buckets))
    return LatencySLI(
        histogram=f.text(body, "histogram", where),
        threshold=f.decimal(body, "threshold", where),
        selector=f.labels(body, "selector", where),
        buckets=bounds if buckets is not None else None,
    )


def _alerting(f: Fields, raw: Mapping[str, Any], path: str) -> Alerting:
    f.unknown(raw, _ALERTING, path)
    min_events = f.get(raw, "min_events", path, None)
    if min_events is not None and (
        isinstance(min_events, bool) or not isinstance(min_events, int) or min_events < 1
    ):
        raise f.fail(f"{path}.min_events", f"must be a positive whole number, got {min_events!r}")
    absent = f.section(raw, "absent", path)
    f.unknown(absent, {"for", "disabled"}, f"{path}.absent")
    absent_for = f.duration(absent, "for", f"{path}.absent", DEFAULT_ABSENT_FOR)
    return Alerting(
        page=_tier(f, raw, "page", path),
        ticket=_tier(f, raw, "ticket", path),
        labels=f.labels(raw, "labels", path),
        annotations=f.labels(raw, "annotations", path),
        min_events=min_events,
        absent_for_seconds=None if f.flag(absent, "disabled", f"{path}.absent") else absent_for,
    )


def _tier(f: Fields, raw: Mapping[str, Any], name: str, path: str) -> TierAlerting:
    tier = f.section(raw, name, path)
    where = f"{path}.{name}"
    f.unknown(tier, _TIER, where)
    disabled = f.get(tier, "disabled", where, False)
    speeds: frozenset[str] = frozenset()
    if isinstance(disabled, list):
        # disabled: [fast] turns off one tier of the severity, keeps the other.
        speeds = frozenset(disabled)
        if not speeds <= {"fast", "slow"} or not all(isinstance(s, str) for s in disabled):
            raise f.fail(f"{where}.disabled", f"must be true, false or a list of fast/slow, "
                         f"got {disabled!r}")
        disabled = False
    else:
        disabled = f.flag(tier, "disabled", where)
    return TierAlerting(
        disabled=disabled,
        disabled_speeds=speeds,
        # "for: 0s" fires on the first evaluation (no pending state).
        for_seconds=(0 if tier.get("for") in _ZERO else
                     f.duration(tier, "for", where, _DEFAULT_FOR[name])),
        labels=f.labels(tier, "labels", where),
        annotations=f.labels(tier, "annotations", where),
    )
