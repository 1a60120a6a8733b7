"""HTTP server metrics (OpenTelemetry HTTP semantic conventions as Prometheus names).

The hot path of every request: children are cached per (method, route, status)
so an observation is one dict lookup plus the prometheus_client update.  The
cache goes through the family's series cap, so it is bounded too.

Exemplars: prometheus_client validates and stores one per call, which costs
more than the observation itself, while a scrape only sees the latest one per
bucket.  So each bucket of each series takes at most one exemplar per
``EXEMPLAR_INTERVAL_S``; the others are observed without one.

An observation without an exemplar adds to the child's own values (its sum and
the one bucket ``bisect`` finds), each under that value's own lock, rather than
through ``Histogram.observe``, which checks the child, walks the buckets in a
Python loop and calls ``inc`` twice: the same additions to the same values
(``tests/metrics/test_http.py`` compares the two).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from time import monotonic

from prometheus_client import Histogram
from prometheus_client.values import MutexValue

from crm_observability import conventions as names
from crm_observability.metrics.guard import (
    BoundGauge,
    BoundHistogram,
    GaugeFamily,
    HistogramFamily,
)
from crm_observability.metrics.multiprocess import multiprocess_dir

EXEMPLAR_INTERVAL_S = 1.0
_NEVER = float("-inf")


def normalize_method(method: str) -> str:
    """The method itself when standard (case-sensitive, as OTel says), else ``_OTHER``."""
    return method if method in names.STANDARD_METHODS else names.OTHER_METHOD


class HttpServerMetrics:
    """``http_server_request_duration_seconds`` and ``http_server_active_requests``."""

    __slots__ = ("_active", "_bounds", "_children", "_duration", "_in_flight", "_max_cached")

    def __init__(self, duration: HistogramFamily, active: GaugeFamily) -> None:
        self._duration = duration
        self._bounds = duration.buckets
        # (method, route, status) -> (child, last exemplar time per bucket, its values)
        self._children: dict[tuple[str, str, int], tuple[BoundHistogram, list[float],
                                                         _Values | None]] = {}
        # Past this many the cache stops growing; the family's cap still applies.
        self._max_cached = 4 * duration.limit
        methods = (*sorted(names.STANDARD_METHODS), names.OTHER_METHOD)
        # The method label is bounded by normalisation: never fold a method away.
        active.limit = max(active.limit, len(methods))
        self._active: dict[str, BoundGauge] = {m: active.labels(m) for m in methods}
        # In one process a request in flight is an entry in its method's deque, and the
        # gauge reads len() at scrape time: append and pop are atomic without a lock,
        # where the gauge's inc/dec take one each.  Under multiprocess mode the value
        # must reach this worker's mmap file: inc/dec it is.
        self._in_flight: dict[str, deque[None]] | None = None
        if multiprocess_dir() is None:
            self._in_flight = {m: deque() for m in methods}
            for method, queue in self._in_flight.items():
                self._active[method].set_function(queue.__len__)

    def in_flight_queue(self, method: str) -> deque[None] | None:
        """The deque a request is appended to at its start and popped from at its end
        (the middleware does both itself: two C calls); None under multiprocess mode."""
        in_flight = self._in_flight
        if in_flight is None:
            return None
        queue = in_flight.get(method)
        return queue if queue is not None else in_flight[names.OTHER_METHOD]

    def request_started(self, method: str) -> None:
        """One more request in flight."""
        queue = self.in_flight_queue(method)
        if queue is not None:
            queue.append(None)
            return
        gauge = self._active.get(method) or self._active[names.OTHER_METHOD]
        gauge.inc()

    def request_finished(self, method: str) -> None:
        """One request fewer in flight."""
        queue = self.in_flight_queue(method)
        if queue is not None:
            try:  # noqa: SIM105 - per request: suppress() costs a context manager
                queue.pop()  # atomic: a check, then pop, would race another thread's pop
            except IndexError:  # finished without being started: the gauge stays at 0
                pass
            return
        gauge = self._active.get(method) or self._active[names.OTHER_METHOD]
        gauge.dec()

    def observe(
        self,
        method: str,
        route: str,
        status: int,
        duration_s: float,
        trace_id: str | int | None = None,
    ) -> None:
        """Record one finished request; ``trace_id`` becomes the exemplar (OpenMetrics only).

        An int trace id is written as 32 hex digits, and only when an exemplar is taken.
        """
        key = (method, route, status)
        entry = self._children.get(key)
        if entry is None:
            child = self._duration.labels(
                normalize_method(method), route or names.UNMATCHED_ROUTE, status
            )
            entry = (child, [_NEVER] * (len(self._bounds) + 1), self._values_of(child))
            if len(self._children) < self._max_cached:
                self._children[key] = entry
        child, last, values = entry
        if trace_id:
            try:
                bucket = bisect_left(self._bounds, duration_s)
            except TypeError:  # not a number: let observe() report it
                bucket = 0
            now = monotonic()
            if now - last[bucket] >= EXEMPLAR_INTERVAL_S:
                last[bucket] = now
                if not isinstance(trace_id, str):
                    trace_id = format(trace_id, "032x")
                child.observe(duration_s, {names.EXEMPLAR_TRACE_ID: trace_id})
                return
        if values is not None and duration_s >= 0.0:  # NaN and negatives: the stock path
            # MutexValue.inc, without its two calls per value; acquire/release rather than
            # `with`: half the instructions (no __exit__ call with three arguments), and a
            # float added to a float cannot raise between the two.
            total, buckets = values
            lock = total._lock
            lock.acquire()
            total._value += duration_s
            lock.release()
            counter = buckets[bisect_left(self._bounds, duration_s)]
            lock = counter._lock
            lock.acquire()
            counter._value += 1.0
            lock.release()
            return
        child.observe(duration_s)

    def _values_of(self, child: BoundHistogram) -> _Values | None:
        """The sum and bucket values of a stock prometheus_client child with our bounds."""
        if type(child) is not BoundHistogram:  # the overflow child counts what it folds
            return None
        raw = getattr(child, "_child", None)
        if type(raw) is not Histogram:
            return None
        total = getattr(raw, "_sum", None)
        buckets = getattr(raw, "_buckets", None)
        bounds = getattr(raw, "_upper_bounds", None)
        if (type(total) is not MutexValue or not isinstance(buckets, list)
                or not all(type(b) is MutexValue for b in buckets)
                or bounds != [*self._bounds, float("inf")] or len(buckets) != len(bounds)):
            return None  # e.g. multiprocess mode's values: their own inc() it is
        return total, buckets


_Values = tuple[MutexValue, list[MutexValue]]  # a child's sum value and its bucket values
