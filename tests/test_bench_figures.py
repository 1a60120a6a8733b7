"""How benchmark 1 turns interleaved rounds into its figures (bench/http_overhead.py)."""

from __future__ import annotations

import pytest

from bench.http_overhead import OverheadResult, WrkResult


def _result(rounds: dict[str, list[float]]) -> OverheadResult:
    per_variant = {v: [WrkResult(rps, 1.0, rps / 100, int(rps), 0) for rps in series]
                   for v, series in rounds.items()}
    return OverheadResult(len(next(iter(rounds.values()))), 3.0, 32, per_variant, {})


def test_ratios_pair_each_round_with_the_baselines_same_round() -> None:
    # The machine got busy for round 3: both variants slowed, the variant more by chance.
    res = _result({"bare": [1000.0, 3000.0, 2000.0], "production": [900.0, 2700.0, 1000.0]})
    assert res.paired("production", "bare") == pytest.approx(0.9)
    # Unpaired, the same rounds read 0.5: the slow round's figure meets the fast round's.
    assert res.median("production", "rps") / res.median("bare", "rps") == pytest.approx(0.5)
    assert res.paired("production", "bare", "p99_ms") == pytest.approx(0.9)


def test_extra_microseconds_are_paired_too() -> None:
    res = _result({"bare": [1000.0, 3000.0, 2000.0], "production": [900.0, 2700.0, 1000.0]})
    # Per round: 111.1, 37.0 and 500 µs a request over bare; the median is the first.
    assert res.extra_us("production") == pytest.approx(1e6 / 900 - 1e6 / 1000)
    assert res.extra_us("bare") == 0.0


def test_rounds_that_do_not_pair_up_are_refused() -> None:
    res = _result({"bare": [1000.0, 2000.0], "production": [900.0, 1800.0]})
    res.per_variant["production"].pop()
    with pytest.raises(ValueError):
        res.paired("production", "bare")
