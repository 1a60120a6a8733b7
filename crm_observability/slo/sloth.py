"""Loader for Sloth's ``version: prometheus/v1`` spec files, converted to the same model.

Sloth writes ``{{.window}}``; the model uses ``{{window}}``.  Sloth has no period
field (a CLI flag, default 30d) and no ``for``; the project defaults apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_observability.slo.fields import Fields
from crm_observability.slo.model import (
    SLI,
    SLO,
    WINDOW_PLACEHOLDER,
    Alerting,
    EventsSLI,
    RawSLI,
    SLOSpec,
    TierAlerting,
)

VERSION = "prometheus/v1"
SLOTH_PLACEHOLDER = "{{.window}}"
_TOP = {"version", "service", "labels", "slos"}
_SLO = {"name", "description", "objective", "labels", "sli", "alerting"}
_ALERTING = {"name", "labels", "annotations", "page_alert", "ticket_alert"}
_TIER = {"labels", "annotations", "disable"}


def load_sloth(doc: Mapping[str, Any], file: str) -> SLOSpec:
    f = Fields(file)
    f.unknown(doc, _TOP, "")
    raw_slos = f.get(doc, "slos", "")
    if not isinstance(raw_slos, list) or not raw_slos:
        raise f.fail("slos", "must be a non-empty list of SLOs")
    return SLOSpec(
        service=f.text(doc, "service", ""),
        slos=tuple(_slo(f, item, f"slos[{i}]") for i, item in enumerate(raw_slos)),
        labels=f.labels(doc, "labels", ""),
        source=file,
    )


def _slo(f: Fields, raw: Any, path: str) -> SLO:
    item = f.mapping(raw, path)
    f.unknown(item, _SLO, path)
    alerting = f.section(item, "alerting", path)
    where = f"{path}.alerting"
    f.unknown(alerting, _ALERTING, where)
    return SLO(
        name=f.text(item, "name", path),
        description=f.text(item, "description", path, ""),
        objective=f.decimal(item, "objective", path),
        sli=_sli(f, f.mapping(f.get(item, "sli", path), f"{path}.sli"), f"{path}.sli"),
        alerting=Alerting(
            page=_tier(f, alerting, "page_alert", where, 120),
            ticket=_tier(f, alerting, "ticket_alert", where, 900),
            labels=f.labels(alerting, "labels", where),
            annotations=f.labels(alerting, "annotations", where),
        ),
        labels=f.labels(item, "labels", path),
        path=path,
        field_paths={"alerting.page": f"{where}.page_alert",
                     "alerting.ticket": f"{where}.ticket_alert"},
    )


def _sli(f: Fields, sli: Mapping[str, Any], path: str) -> SLI:
    if "plugin" in sli:
        raise f.fail(f"{path}.plugin", "Sloth SLI plugins are not supported; use events or raw")
    f.unknown(sli, {"events", "raw"}, path)
    if ("events" in sli) == ("raw" in sli):
        raise f.fail(path, "must have exactly one of events, raw")
    if "events" in sli:
        body = f.section(sli, "events", path)
        where = f"{path}.events"
        f.unknown(body, {"error_query", "total_query"}, where)
        return EventsSLI(
            _window(f.text(body, "error_query", where)), _window(f.text(body, "total_query", where))
        )
    body = f.section(sli, "raw", path)
    f.unknown(body, {"error_ratio_query"}, f"{path}.raw")
    return RawSLI(_window(f.text(body, "error_ratio_query", f"{path}.raw")))


def _window(query: str) -> str:
    return query.replace(SLOTH_PLACEHOLDER, WINDOW_PLACEHOLDER)


def _tier(f: Fields, raw: Mapping[str, Any], key: str, path: str, for_s: int) -> TierAlerting:
    tier = f.section(raw, key, path)
    f.unknown(tier, _TIER, f"{path}.{key}")
    return TierAlerting(
        disabled=f.flag(tier, "disable", f"{path}.{key}"),
        for_seconds=for_s,
        labels=f.labels(tier, "labels", f"{path}.{key}"),
        annotations=f.labels(tier, "annotations", f"{path}.{key}"),
    )
