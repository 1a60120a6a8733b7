"""The benchmark's claim, checked once: 1,000 rules lint in under 2 s, and clean."""

from __future__ import annotations

from bench.bench_lint import TARGET_S, run


def test_thousand_rules_under_two_seconds() -> None:
    median, findings = run(rules=1000, rounds=1)
    assert findings == 0
    assert median < TARGET_S, f"{median:.2f} s"
