"""30 days of synthetic request counters with known error and slow ratios, as OpenMetrics.

Phases are (start, end) offsets in seconds before the report time with a
constant request rate; the expected error ratio over any window is computed by
integrating the phases (:func:`expected_ratio`), independently of the samples.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from crm_observability import conventions as c

AT = 1768435200  # 2026-01-15T00:00:00Z, the report's fixed --at
DAY = 86400
RATE = 10.0  # requests per second, constant
SERVICE = "history-service"
# (older offset, newer offset, error ratio, slow ratio): newest last
PHASES = (
    (30 * DAY + 3600, 2 * DAY, 0.0005, 0.01),
    (2 * DAY, 4 * 3600, 0.002, 0.01),
    (4 * 3600, 1800, 0.004, 0.03),
    (1800, 0, 0.05, 0.08),
)
FINE_FROM = 2 * 3600  # 1-minute samples in the last 2 hours, 5-minute samples before


@dataclass(frozen=True)
class Point:
    t: int
    ok: float  # cumulative 2xx
    errors: float  # cumulative 5xx
    fast_ok: float  # cumulative 2xx within 0.5 s
    fast_errors: float  # cumulative 5xx within 0.5 s


def _phase(offset: int) -> tuple[float, float]:
    for older, newer, err, slow in PHASES:
        if newer <= offset <= older:
            return err, slow
    raise ValueError(offset)


def timestamps() -> list[int]:
    start = AT - PHASES[0][0]
    coarse = list(range(start, AT - FINE_FROM, 300))
    fine = list(range(AT - FINE_FROM, AT + 1, 60))
    return coarse + fine


def points() -> Iterator[Point]:
    # Counters start high so rate() never extrapolates towards zero.
    ok, errors, fast_ok, fast_errors = 5e8, 1e6, 4e8, 5e5
    previous = None
    for t in timestamps():
        if previous is not None:
            # The interval (previous, t] lies inside one phase: boundaries are on the grid.
            err, slow = _phase(AT - t + (t - previous) // 2)
            requests = RATE * (t - previous)
            ok += requests * (1 - err)
            errors += requests * err
            fast_ok += requests * (1 - err) * (1 - slow)
            fast_errors += requests * err * (1 - slow)
        previous = t
        yield Point(t, ok, errors, fast_ok, fast_errors)


def openmetrics() -> str:
    """The whole history as OpenMetrics text for ``promtool tsdb create-blocks-from``."""
    pts = list(points())
    out = io.StringIO()
    name = c.HTTP_SERVER_DURATION
    out.write(f"# TYPE {name} histogram\n")
    series = (
        ("_count", "200", None, lambda p: p.ok),
        ("_count", "500", None, lambda p: p.errors),
        ("_bucket", "200", "0.5", lambda p: p.fast_ok),
        ("_bucket", "500", "0.5", lambda p: p.fast_errors),
    )
    for suffix, code, le, value in series:
        labels = f'{c.LABEL_SERVICE}="{SERVICE}",{c.LABEL_HTTP_STATUS}="{code}"'
        if le is not None:
            labels += f',{c.LABEL_LE}="{le}"'
        for p in pts:
            out.write(f"{name}{suffix}{{{labels}}} {value(p)!r} {p.t}\n")
    out.write("# EOF\n")
    return out.getvalue()


def expected_ratio(window: int, *, slow: bool = False) -> float:
    """Bad events / all events over ``(AT - window, AT]``, by integrating the phases."""
    bad = 0.0
    for older, newer, err, slow_ratio in PHASES:
        overlap = max(0, min(older, window) - newer)
        bad += overlap * (slow_ratio if slow else err)
    return bad / window


_COUNT, _CODE, _W = f"{c.HTTP_SERVER_DURATION}_count", c.LABEL_HTTP_STATUS, "{{window}}"
_RAW = (f'sum(rate({_COUNT}{{service="{SERVICE}",{_CODE}=~"5.."}}[{_W}])) / '
        f'sum(rate({_COUNT}{{service="{SERVICE}"}}[{_W}]))')
SPEC = f"""
apiVersion: crm-observability/v1
kind: SLOSpec
service: {SERVICE}
labels: {{team: history}}
slos:
  - name: availability
    objective: 99.9
    period: 30d
    sli:
      events:
        error_query: sum(rate({_COUNT}{{service="{SERVICE}",{_CODE}=~"5.."}}[{_W}]))
        total_query: sum(rate({_COUNT}{{service="{SERVICE}"}}[{_W}]))
  - name: ratio
    objective: 99.9
    sli:
      raw:
        error_ratio_query: {_RAW}
  - name: latency
    objective: 95
    period: 30d
    sli:
      latency:
        histogram: {c.HTTP_SERVER_DURATION}
        selector: {{service: {SERVICE}}}
        threshold: 0.5
"""
