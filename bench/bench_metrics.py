"""Micro-benchmark of the metrics hot paths (not part of the test suite).

    .venv/bin/python -m bench.bench_metrics [--number N] [--rounds R]

Prints the median over R rounds (each: the best-of-3 mean of N calls, in
process CPU time) in microseconds per call, and ratios against the raw prometheus_client baseline:
a pre-bound counter increment, ``@timed`` on a sync and an async function
versus the bare call, the guard's label lookup, and one HTTP request's
metrics (``request_started`` + ``observe`` + ``request_finished``), with and
without an exemplar.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

from crm_observability.metrics import MetricsRegistry
from crm_observability.settings import Settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _best(fn: Callable[[], object], number: int) -> float:
    # CPU time of this process: on a shared machine, wall time counts other tenants too.
    runs = timeit.repeat(fn, number=number, repeat=3, timer=time.process_time)
    return min(runs) / number * 1e6


def _cases() -> dict[str, Callable[[], object]]:
    metrics = MetricsRegistry(Settings(service_name="bench"))
    raw_registry = CollectorRegistry()
    raw_counter = Counter("raw_total", "raw", ["type"], registry=raw_registry).labels("business")
    raw_hist = Histogram("raw_seconds", "raw", registry=raw_registry)
    counter = metrics.counter("bench_total", "bench", ("type",))
    bound = counter.labels(type="business")
    http = metrics.http_server_metrics()
    timer = metrics.timed("bench_timed", "bench")

    def bare() -> int:
        return 1

    async def bare_async() -> int:
        return 1

    timed_sync = timer(bare)
    timed_async = timer(bare_async)

    def drive(coro_fn: Callable[[], object]) -> Callable[[], object]:
        # Step the coroutine by hand: measures the wrapper, not the event loop.
        def run() -> object:
            coro = coro_fn()
            try:
                coro.send(None)  # type: ignore[attr-defined]
            except StopIteration as stop:
                return stop.value
            return None

        return run

    def request(trace_id: str | None) -> Callable[[], None]:
        def one() -> None:
            http.request_started("GET")
            http.observe("GET", "/api/contacts/{id}", 200, 0.0123, trace_id)
            http.request_finished("GET")

        return one

    return {
        "raw prometheus_client counter child .inc()": raw_counter.inc,
        "ours: pre-bound counter .inc()": bound.inc,
        "ours: counter.labels(type=...).inc() (lookup)": lambda: counter.labels(
            type="business").inc(),
        "raw prometheus_client histogram .observe()": lambda: raw_hist.observe(0.0123),
        "bare sync call": bare,
        "ours: @timed sync call": timed_sync,
        "bare async call (stepped)": drive(bare_async),
        "ours: @timed async call (stepped)": drive(timed_async),
        "ours: HTTP request metrics, no exemplar": request(None),
        "ours: HTTP request metrics, with exemplar": request(TRACE_ID),
        "ours: HttpServerMetrics.observe only": lambda: http.observe(
            "GET", "/api/contacts/{id}", 200, 0.0123),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--number", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = _cases()
    samples: dict[str, list[float]] = {label: [] for label in cases}
    # Rounds interleave all cases, so a busy machine affects them alike.
    for _ in range(args.rounds):
        for label, fn in cases.items():
            samples[label].append(_best(fn, args.number))
    median = {label: statistics.median(values) for label, values in samples.items()}
    for label, micros in median.items():
        print(f"{label:<48} {micros:8.3f} µs")
    ratios = [
        ("pre-bound inc / raw inc", "ours: pre-bound counter .inc()",
         "raw prometheus_client counter child .inc()"),
        ("@timed sync - bare (µs)", "ours: @timed sync call", "bare sync call"),
        ("@timed async - bare (µs)", "ours: @timed async call (stepped)",
         "bare async call (stepped)"),
    ]
    print()
    for label, ours, base in ratios:
        if "(µs)" in label:
            print(f"{label:<48} {median[ours] - median[base]:8.3f}")
        else:
            print(f"{label:<48} {median[ours] / median[base]:8.2f}x")


if __name__ == "__main__":
    main()
