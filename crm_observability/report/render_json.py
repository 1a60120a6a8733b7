"""The report as JSON: every number the other formats show, for scripts and CI gates."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from crm_observability.generators.render import render_json as dump_json
from crm_observability.report.fmt import timestamp
from crm_observability.report.model import GroupReport, Report

SCHEMA_VERSION = 1


def report_to_dict(report: Report) -> dict[str, Any]:
    """Plain data (``null`` for unknown numbers), stable keys."""
    return {
        "schema_version": SCHEMA_VERSION,
        "prometheus": report.prometheus,
        "at": report.at,
        "at_iso": timestamp(report.at),
        "sources": list(report.sources),
        "slos": [
            {
                "service": slo.service, "slo": slo.name, "description": slo.description,
                "objective_percent": slo.objective, "period": slo.period,
                "period_seconds": slo.period_seconds, "sli_kind": slo.sli_kind,
                "groups": [_group(g) for g in slo.groups],
            }
            for slo in report.slos
        ],
    }


def _group(group: GroupReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "labels": dict(group.labels),
        "status": group.status,
        "sli": group.sli,
        "budget": None if group.budget is None else {
            **dataclasses.asdict(group.budget), "exhausted": group.budget.exhausted},
        "windows": [dataclasses.asdict(w) for w in group.windows],
        "tiers": [dataclasses.asdict(t) for t in group.tiers],
        "paging": group.paging,
        "ticketing": group.ticketing,
        "exhaustion_seconds": group.exhaustion_seconds,
        "flags": list(group.flags),
    }
    if group.history is not None:
        h = group.history
        data["history"] = {
            "start": h.start, "end": h.end, "source": h.source,
            "budget_remaining": [list(p) for p in h.budget_remaining],
            "burn_rates": {w: [list(p) for p in pts] for w, pts in h.burn_rates.items()},
        }
    finite: dict[str, Any] = _finite(data)
    return finite


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def render_json(report: Report) -> str:
    return dump_json(report_to_dict(report))
