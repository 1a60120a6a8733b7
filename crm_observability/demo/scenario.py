"""The demo's script: which specs and intervals, and the incident's timeline.

``--fast`` rewrites every SLO to a 1-day period before generating its rules.
The tiers then come from the same :func:`tiers_for` as always, scaled by
1d/30d: the page tier watches 10m and 5m windows (factor 2.88) instead of 1h and
5m (14.4), and ``for:`` shrinks to 20s, so a page fires within about a minute
of the incident.  The report reads the same rewritten specs, so its windows and
factors match the rules Prometheus evaluates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from crm_observability.demo.faults import Faults
from crm_observability.slo.model import SLOSpec

INCIDENT_SERVICE = "deals"
FAST_PERIOD_S = 86400
FAST_PAGE_FOR_S = 20
FAST_TICKET_FOR_S = 60


@dataclass(frozen=True)
class Mode:
    interval: str  # scrape and rule evaluation interval
    group_wait: str  # Alertmanager's wait before the first notification of a group
    default_duration_s: float


FAST = Mode(interval="2s", group_wait="2s", default_duration_s=150)
NORMAL = Mode(interval="5s", group_wait="10s", default_duration_s=600)


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float
    faults: Faults
    description: str


def timeline(duration_s: float) -> tuple[Phase, ...]:
    """Warm-up, 5xx incident, latency spike, recovery (shares of ``duration_s``)."""
    marks = [0.0, 0.15, 0.55, 0.8, 1.0]
    svc = f"{INCIDENT_SERVICE}-service"
    phases = [
        ("warm-up", Faults(), "normal traffic on all four services"),
        ("errors", Faults(error_ratio=0.3), f"{svc} answers 30% of requests with a 500"),
        ("latency", Faults(delay_ratio=0.8, delay_s=0.8),
         f"{svc} is 0.8 s slower for 80% of requests"),
        ("recovery", Faults(), "the incident is over"),
    ]
    return tuple(Phase(name, marks[i] * duration_s, marks[i + 1] * duration_s, faults, text)
                 for i, (name, faults, text) in enumerate(phases))


def phase_at(phases: Iterable[Phase], elapsed_s: float) -> Phase:
    last = None
    for phase in phases:
        last = phase
        if elapsed_s < phase.end_s:
            return phase
    assert last is not None
    return last


def fast_specs(specs: Iterable[SLOSpec]) -> list[SLOSpec]:
    """Every SLO on a 1-day period with short ``for:`` (see the module docstring)."""
    out = []
    for spec in specs:
        slos = []
        for slo in spec.slos:
            alerting = dataclasses.replace(
                slo.alerting,
                page=dataclasses.replace(slo.alerting.page, for_seconds=FAST_PAGE_FOR_S),
                ticket=dataclasses.replace(slo.alerting.ticket, for_seconds=FAST_TICKET_FOR_S))
            slos.append(dataclasses.replace(slo, period_seconds=FAST_PERIOD_S, alerting=alerting))
        out.append(dataclasses.replace(spec, slos=tuple(slos)))
    return out
