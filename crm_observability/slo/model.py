"""The SLO model: frozen dataclasses every loader produces and every builder reads.

Objectives are exact ``Decimal`` percents (``99.9``), durations whole seconds.
``field_paths`` remembers where a value came from in its file, so validation can
name the field the user wrote (``spec.objectives[0].target`` for OpenSLO).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from crm_observability.slo.windows import PAGE, BurnRateTier, error_budget

DEFAULT_PERIOD = 30 * 86400
DEFAULT_ABSENT_FOR = 600
WINDOW_PLACEHOLDER = "{{window}}"


@dataclass(frozen=True)
class EventsSLI:
    """Ratio SLI: bad events over all events; both queries contain ``{{window}}``."""

    error_query: str
    total_query: str
    kind = "events"


@dataclass(frozen=True)
class LatencySLI:
    """Requests slower than ``threshold`` seconds, from a Prometheus histogram."""

    histogram: str
    threshold: Decimal
    selector: Mapping[str, str] = field(default_factory=dict)
    buckets: tuple[Decimal, ...] | None = None  # known bucket bounds, for validation
    kind = "latency"


@dataclass(frozen=True)
class RawSLI:
    """A ready error-ratio query with ``{{window}}`` (cannot be request-weighted)."""

    error_ratio_query: str
    kind = "raw"


SLI = EventsSLI | LatencySLI | RawSLI


@dataclass(frozen=True)
class TierAlerting:
    """Settings of one severity (page or ticket), whose two tiers are "fast" and "slow"."""

    disabled: bool = False  # both tiers off
    disabled_speeds: frozenset[str] = frozenset()  # some tiers off: {"fast"} or {"slow"}
    for_seconds: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Alerting:
    page: TierAlerting = TierAlerting(for_seconds=120)
    ticket: TierAlerting = TierAlerting(for_seconds=900)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    min_events: int | None = None  # low-traffic guard: events needed in the long window
    absent_for_seconds: int | None = DEFAULT_ABSENT_FOR  # None: no absent-data alert


@dataclass(frozen=True)
class SLO:
    name: str
    objective: Decimal  # percent, 0 < objective < 100
    sli: SLI
    description: str = ""
    period_seconds: int = DEFAULT_PERIOD
    alerting: Alerting = Alerting()
    labels: Mapping[str, str] = field(default_factory=dict)
    path: str = "slos[0]"  # where this SLO sits in its file
    field_paths: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def error_budget(self) -> Decimal:
        return error_budget(self.objective)

    def tier_settings(self, tier: BurnRateTier) -> TierAlerting:
        return self.alerting.page if tier.name == PAGE else self.alerting.ticket

    def tier_enabled(self, tier: BurnRateTier) -> bool:
        settings = self.tier_settings(tier)
        return not settings.disabled and tier.speed not in settings.disabled_speeds

    def where(self, name: str) -> str:
        """The file's field path for model field ``name`` (``objective``, ``sli.events``...)."""
        return self.field_paths.get(name, f"{self.path}.{name}")


@dataclass(frozen=True)
class SLOSpec:
    service: str
    slos: tuple[SLO, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    source: str = "<python>"  # file name used in error messages and headers
