"""Burn-rate tiers as data: the Workbook's numbers for 30 days, consistent math for others."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_observability.slo import (
    error_budget,
    format_duration,
    parse_duration,
    recorded_windows,
    tiers_for,
)

DAY = 86400


def test_thirty_days_are_the_workbook_tiers() -> None:
    rows = [(t.name, t.speed, t.long_window_text, t.short_window_text, t.factor,
             t.budget_fraction) for t in tiers_for(30 * DAY)]
    assert rows == [
        ("page", "fast", "1h", "5m", Decimal("14.4"), Decimal("0.02")),
        ("page", "slow", "6h", "30m", Decimal(6), Decimal("0.05")),
        ("ticket", "fast", "1d", "2h", Decimal(3), Decimal("0.1")),
        ("ticket", "slow", "3d", "6h", Decimal(1), Decimal("0.1")),
    ]


def test_other_periods_scale_windows() -> None:
    assert [t.long_window_text for t in tiers_for(28 * DAY)] == ["56m", "5h36m", "22h24m",
                                                                "2d19h12m"]
    seven = tiers_for(7 * DAY)
    assert [t.short_window_text for t in seven] == ["5m", "7m", "28m", "1h24m"]
    assert [t.factor for t in seven] == [Decimal("14.4"), 6, 3, 1]


@given(st.integers(min_value=3600, max_value=400 * DAY))
def test_factor_follows_from_budget_fraction(period: int) -> None:
    for tier in tiers_for(period):
        # Burning at `factor` for the long window spends `budget_fraction` of the budget.
        spent = float(tier.factor * tier.long_window / period)
        assert spent == pytest.approx(float(tier.budget_fraction), rel=1e-5)
        assert tier.short_window < tier.long_window
        assert tier.short_window >= 300


def test_threshold_and_budget_are_exact() -> None:
    assert error_budget(Decimal("99.9")) == Decimal("0.001")
    assert tiers_for(30 * DAY)[0].threshold(Decimal("99.9")) == Decimal("0.0144")


def test_recorded_windows_include_tier_windows_and_skip_the_period() -> None:
    assert [format_duration(w) for w in recorded_windows(30 * DAY)] == [
        "5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    windows = recorded_windows(28 * DAY)
    assert {parse_duration(w) for w in ("56m", "2d19h12m", "3d")} <= set(windows)
    assert all(w < DAY for w in recorded_windows(DAY))
    with pytest.raises(ValueError):
        tiers_for(0)


@pytest.mark.parametrize(("text", "seconds"), [
    ("5m", 300), ("1h30m", 5400), ("30d", 30 * DAY), ("1w", 7 * DAY), ("1y", 365 * DAY),
    ("90s", 90)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5ms", "0m", "m5", "1.5h", "five minutes"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**9))
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_format_duration_rejects_zero() -> None:
    with pytest.raises(ValueError):
        format_duration(0)
