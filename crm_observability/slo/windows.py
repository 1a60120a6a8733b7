"""Multi-window multi-burn-rate tiers (SRE Workbook, chapter 5) as pure data.

For a 30-day period the tiers are the Workbook's: 2% of the budget in 1h (5m
short window) and 5% in 6h (30m) page; 10% in 1d (2h) and 10% in 3d (6h) open a
ticket.  Other periods scale the windows by ``period / 30d`` (whole minutes, short
windows never under 5m so ``rate()`` sees several scrapes) and derive each factor
from its budget fraction: ``factor = fraction * period / long_window``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crm_observability.conventions import SLO_WINDOWS
from crm_observability.slo.durations import format_duration, parse_duration

REFERENCE_PERIOD = 30 * 86400
MIN_SHORT_WINDOW = 300
PAGE = "page"
TICKET = "ticket"
# (severity, speed, long window, short window, budget fraction) for 30 days.
_REFERENCE_TIERS = (
    (PAGE, "fast", 3600, 300, Decimal("0.02")),
    (PAGE, "slow", 6 * 3600, 1800, Decimal("0.05")),
    (TICKET, "fast", 86400, 2 * 3600, Decimal("0.1")),
    (TICKET, "slow", 3 * 86400, 6 * 3600, Decimal("0.1")),
)
_FACTOR_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class BurnRateTier:
    """One alert tier: fire when both windows burn faster than ``factor``."""

    name: str  # "page" or "ticket" (the alert's severity)
    speed: str  # "fast" or "slow" within its severity
    long_window: int  # seconds
    short_window: int  # seconds
    factor: Decimal  # burn rate threshold (1 = spending the budget exactly in the period)
    budget_fraction: Decimal  # share of the period's budget spent when it fires

    @property
    def long_window_text(self) -> str:
        return format_duration(self.long_window)

    @property
    def short_window_text(self) -> str:
        return format_duration(self.short_window)

    def threshold(self, objective_percent: Decimal) -> Decimal:
        """Error ratio above which this tier fires: ``factor * (1 - objective)``."""
        return self.factor * error_budget(objective_percent)


def error_budget(objective_percent: Decimal) -> Decimal:
    """Allowed error ratio: ``99.9`` -> ``0.001`` (exact)."""
    return (Decimal(100) - objective_percent) / Decimal(100)


def _scaled(seconds: int, period_seconds: int, minimum: int) -> int:
    minutes = round(Decimal(seconds) * period_seconds / REFERENCE_PERIOD / 60)
    return max(int(minutes) * 60, minimum)


def tiers_for(period_seconds: int) -> tuple[BurnRateTier, ...]:
    """The four tiers for an SLO period of ``period_seconds`` (pure; 30d gives the Workbook's)."""
    if period_seconds <= 0:
        raise ValueError(f"period must be positive, got {period_seconds}")
    tiers = []
    for severity, speed, long_s, short_s, fraction in _REFERENCE_TIERS:
        short = _scaled(short_s, period_seconds, MIN_SHORT_WINDOW)
        long = max(_scaled(long_s, period_seconds, 60), short * 2)
        factor = (fraction * period_seconds / long).quantize(_FACTOR_QUANTUM).normalize()
        tiers.append(BurnRateTier(severity, speed, long, short, factor, fraction))
    return tuple(tiers)


def recorded_windows(period_seconds: int) -> tuple[int, ...]:
    """Windows (seconds) needing an error-ratio rule: the standard ones plus every tier's."""
    windows = {parse_duration(w) for w in SLO_WINDOWS}
    for tier in tiers_for(period_seconds):
        windows.update((tier.long_window, tier.short_window))
    # The period ratio has its own, request-weighted rule; longer windows say nothing.
    return tuple(sorted(w for w in windows if w < period_seconds))
