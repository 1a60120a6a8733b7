"""The report model: frozen values every renderer reads (no queries, no formatting)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Where a number came from.
SOURCE_RULES = "rules"  # the generated recording rules
SOURCE_RAW = "raw"  # the SLI queries of the spec (rules missing, e.g. backfilled history)
SOURCE_NONE = "none"  # no data either way

# Data-quality flags of a group.
FLAG_NO_DATA = "no-data"  # no SLI value over the period
FLAG_LOW_TRAFFIC = "low-traffic"  # fewer events than alerting.min_events in a tier's window
FLAG_RULES_MISSING = "rules-missing"  # at least one number came from the raw SLI queries

# --fail-on levels
FAIL_PAGE = "page"
FAIL_TICKET = "ticket"
FAIL_EXHAUSTED = "exhausted"
FAIL_LEVELS = (FAIL_PAGE, FAIL_TICKET, FAIL_EXHAUSTED)


@dataclass(frozen=True)
class WindowBurn:
    """Error ratio and burn rate over one window ending at the report time."""

    window: str  # Prometheus duration text ("1h"); the period's text for the period
    seconds: int
    error_ratio: float | None
    burn_rate: float | None  # error_ratio / error budget; 1 spends the budget in the period
    source: str
    is_period: bool = False


@dataclass(frozen=True)
class TierStatus:
    """One alert tier (the generated alert's condition, evaluated at the report time)."""

    alert: str  # SLOErrorBudgetBurnPageFast ...
    severity: str  # page | ticket
    long_window: str
    short_window: str
    factor: float
    long_burn: float | None
    short_burn: float | None
    holds: bool  # both windows above the factor (and enough traffic)
    disabled: bool = False  # the spec turned this tier's alert off: never "holds"
    low_traffic: bool = False  # blocked by alerting.min_events


@dataclass(frozen=True)
class Budget:
    """The error budget over the period: fractions of the budget, and as time.

    ``*_seconds`` express budget as time at a 100% error rate ("downtime minutes"):
    a 99.9% SLO over 30 days has 43.2 minutes in total.  ``remaining_at_allowed_rate_s``
    is how long the rest lasts when errors run exactly at the allowed rate (burn 1x).
    """

    allowed_error_ratio: float  # 1 - objective
    consumed: float  # fraction of the budget spent (> 1 when exhausted)
    remaining: float  # 1 - consumed (negative when overspent)
    total_seconds: float
    consumed_seconds: float
    remaining_seconds: float
    remaining_at_allowed_rate_s: float

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0


@dataclass(frozen=True)
class History:
    """Chart data: budget remaining over time, and burn rate per window over time."""

    start: float
    end: float
    budget_remaining: tuple[tuple[float, float], ...]
    burn_rates: Mapping[str, tuple[tuple[float, float], ...]]  # window -> points
    source: str


@dataclass(frozen=True)
class GroupReport:
    """One SLO, or one group of a grouped SLO (``labels`` names the group)."""

    labels: Mapping[str, str]
    sli: float | None  # good ratio over the period
    budget: Budget | None
    windows: tuple[WindowBurn, ...]
    tiers: tuple[TierStatus, ...]
    exhaustion_seconds: float | None  # at the current (5m) burn rate; 0 when exhausted
    flags: tuple[str, ...]
    history: History | None = None

    @property
    def paging(self) -> bool:
        return any(t.holds for t in self.tiers if t.severity == "page")

    @property
    def ticketing(self) -> bool:
        return any(t.holds for t in self.tiers)

    @property
    def exhausted(self) -> bool:
        return self.budget is not None and self.budget.exhausted

    @property
    def status(self) -> str:
        """One word for tables: page, ticket, exhausted, no-data or ok."""
        if self.paging:
            return "page"
        if self.ticketing:
            return "ticket"
        if self.exhausted:
            return "exhausted"
        if FLAG_NO_DATA in self.flags:
            return "no-data"
        return "ok"

    def window(self, name: str) -> WindowBurn | None:
        return next((w for w in self.windows if w.window == name), None)


@dataclass(frozen=True)
class SLOReport:
    service: str
    name: str
    description: str
    objective: float  # percent
    period: str
    period_seconds: int
    sli_kind: str
    groups: tuple[GroupReport, ...]


@dataclass(frozen=True)
class Report:
    prometheus: str
    at: float  # the one evaluation time of every query (unix seconds)
    slos: tuple[SLOReport, ...]
    sources: tuple[str, ...] = field(default=())  # spec files

    def groups(self) -> list[tuple[SLOReport, GroupReport]]:
        return [(slo, group) for slo in self.slos for group in slo.groups]

    def failing(self, level: str) -> list[tuple[SLOReport, GroupReport]]:
        """Groups that fail a ``--fail-on level`` gate (ticket includes page)."""
        if level not in FAIL_LEVELS:
            raise ValueError(f"unknown level {level!r}; expected one of {', '.join(FAIL_LEVELS)}")
        attribute = {FAIL_PAGE: "paging", FAIL_TICKET: "ticketing",
                     FAIL_EXHAUSTED: "exhausted"}[level]
        return [(s, g) for s, g in self.groups() if getattr(g, attribute)]
