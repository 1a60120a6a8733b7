"""Accounting for telemetry failures: contained, counted, logged at a bounded rate.

Telemetry code (exporters, log sinks, metric updates) calls :func:`report_failure`
instead of raising.  Counts are exported by the metrics package as
``crm_observability_telemetry_errors_total{component=...}``.  The warning goes
straight to ``sys.stderr`` (not through logging, which may be what is broken),
at most once per ``WARN_INTERVAL_S`` per component.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter

WARN_INTERVAL_S = 60.0

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_dropped: Counter[str] = Counter()
_last_warned: dict[str, float] = {}


def report_failure(component: str, exc: BaseException | str, *, count: int = 1) -> None:
    """Count a failure of ``component``; warn on stderr at most once a minute. Never raises."""
    try:
        now = time.monotonic()
        with _lock:
            _counts[component] += count
            last = _last_warned.get(component)
            warn = last is None or now - last >= WARN_INTERVAL_S
            if warn:
                _last_warned[component] = now
            total = _counts[component]
        if warn:
            detail = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
            sys.stderr.write(
                f"crm_observability: {component} failed ({total} so far; "
                f"further warnings suppressed for {WARN_INTERVAL_S:.0f}s): {detail}\n"
            )
            sys.stderr.flush()
    except Exception:  # stderr itself may be gone; nothing left to tell
        pass


def count_dropped(component: str, n: int = 1) -> None:
    """Count ``n`` telemetry items (spans, log lines) dropped by ``component``."""
    with _lock:
        _dropped[component] += n


def failure_counts() -> dict[str, int]:
    """Failures per component since start (a copy)."""
    with _lock:
        return dict(_counts)


def dropped_counts() -> dict[str, int]:
    """Dropped items per component since start (a copy)."""
    with _lock:
        return dict(_dropped)


def reset_for_tests() -> None:
    """Forget all counts and warning times."""
    with _lock:
        _counts.clear()
        _dropped.clear()
        _last_warned.clear()
