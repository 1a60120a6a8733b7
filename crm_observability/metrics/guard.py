"""Guarded metric families: common labels pre-filled, a series cap, and no exceptions.

A family wraps one prometheus_client metric whose label names are the common
labels followed by the user's.  ``labels(...)`` returns a *bound* child; the
first ``series_limit`` distinct label sets get their own series, later ones
share a single overflow series (every user label ``__overflow__``) whose
observations are also counted in ``crm_observability_series_overflow_total``.
Rejected label sets are not remembered, so memory stays flat however many
distinct values arrive, and a call costs one dict lookup.

Errors at observation time (unknown label names, wrong count, non-numeric
values) go to :func:`crm_observability.errors.report_failure`, never to the app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from crm_observability import conventions as names
from crm_observability.errors import report_failure

COMPONENT = "metrics"

M = TypeVar("M", Counter, Gauge, Histogram)
B = TypeVar("B", bound="Bound")


class Bound:
    """A child with every label value fixed; methods never raise."""

    __slots__ = ("_child",)

    def __init__(self, child: Any) -> None:
        self._child = child


class BoundCounter(Bound):
    __slots__ = ()

    def inc(self, amount: float = 1.0, exemplar: dict[str, str] | None = None) -> None:
        try:
            self._child.inc(amount, exemplar)
        except Exception as exc:
            report_failure(COMPONENT, exc)


class BoundHistogram(Bound):
    __slots__ = ()

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        try:
            self._child.observe(amount, exemplar)
        except Exception as exc:
            report_failure(COMPONENT, exc)


class BoundGauge(Bound):
    __slots__ = ()

    def inc(self, amount: float = 1.0) -> None:
        try:
            self._child.inc(amount)
        except Exception as exc:
            report_failure(COMPONENT, exc)

    def dec(self, amount: float = 1.0) -> None:
        try:
            self._child.dec(amount)
        except Exception as exc:
            report_failure(COMPONENT, exc)

    def set(self, value: float) -> None:
        try:
            self._child.set(value)
        except Exception as exc:
            report_failure(COMPONENT, exc)

    def set_function(self, read: Callable[[], float]) -> None:
        """Read the value from ``read()`` at collection time."""
        try:
            self._child.set_function(read)
        except Exception as exc:
            report_failure(COMPONENT, exc)


# Overflow variants: same methods, plus one count per folded observation.
class OverflowCounter(BoundCounter):
    __slots__ = ("_folded",)

    def __init__(self, child: Any, folded: BoundCounter) -> None:
        super().__init__(child)
        self._folded = folded

    def inc(self, amount: float = 1.0, exemplar: dict[str, str] | None = None) -> None:
        self._folded.inc()
        super().inc(amount, exemplar)


class OverflowHistogram(BoundHistogram):
    __slots__ = ("_folded",)

    def __init__(self, child: Any, folded: BoundCounter) -> None:
        super().__init__(child)
        self._folded = folded

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        self._folded.inc()
        super().observe(amount, exemplar)


class OverflowGauge(BoundGauge):
    __slots__ = ("_folded",)

    def __init__(self, child: Any, folded: BoundCounter) -> None:
        super().__init__(child)
        self._folded = folded

    def inc(self, amount: float = 1.0) -> None:
        self._folded.inc()
        super().inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        self._folded.inc()
        super().dec(amount)

    def set(self, value: float) -> None:
        self._folded.inc()
        super().set(value)


class _Null:
    """Returned for a label error: accepts every call and does nothing."""

    __slots__ = ()

    def inc(self, *args: object, **kwargs: object) -> None:
        pass

    def dec(self, *args: object, **kwargs: object) -> None:
        pass

    def set(self, *args: object, **kwargs: object) -> None:
        pass

    def observe(self, *args: object, **kwargs: object) -> None:
        pass


NULL: Any = _Null()


class Family(Generic[M, B]):
    """One metric: its prometheus_client parent, its bound children and its cap."""

    _bound: type[Bound] = Bound
    _overflow: type[Bound] = Bound

    def __init__(
        self,
        metric: M,
        common_values: Sequence[str],
        labelnames: Sequence[str],
        limit: int,
        folded: BoundCounter,
    ) -> None:
        self.metric: M = metric
        self.name: str = metric._name
        self.labelnames = tuple(labelnames)
        self._common = tuple(common_values)
        self.limit = limit
        self._folded = folded
        self._children: dict[tuple[str, ...], B] = {}
        self._lock = threading.Lock()
        self._overflow_child: B | None = None
        # No user labels: the only child, bound once (the pre-bound fast path).
        self._default: B | None = self._admit(()) if not self.labelnames else None

    def labels(self, *values: object, **kw: object) -> B:
        """The bound child for these user label values (positional or by name)."""
        try:
            key = self._key(values, kw)
        except ValueError as exc:
            report_failure(COMPONENT, exc)
            return NULL  # type: ignore[no-any-return]
        child = self._children.get(key)
        if child is not None:
            return child
        with self._lock:
            child = self._children.get(key)
            if child is not None:
                return child
            if len(self._children) >= self.limit:
                return self._overflowed()
            return self._admit(key)

    def series_count(self) -> int:
        """Distinct label sets admitted so far (the overflow series excluded)."""
        return len(self._children)

    def _key(self, values: tuple[object, ...], kw: dict[str, object]) -> tuple[str, ...]:
        if kw:
            if values or set(kw) != set(self.labelnames):
                raise ValueError(
                    f"{self.name}: labels {sorted(kw)} do not match {list(self.labelnames)}"
                )
            return tuple([str(kw[n]) for n in self.labelnames])
        if len(values) != len(self.labelnames):
            raise ValueError(
                f"{self.name}: {len(values)} label values for {list(self.labelnames)}"
            )
        return tuple([v if type(v) is str else str(v) for v in values])

    def _admit(self, key: tuple[str, ...]) -> B:
        child: B = self._bound(self.metric.labels(*self._common, *key))  # type: ignore[assignment]
        self._children[key] = child
        return child

    def _overflowed(self) -> B:
        if self._overflow_child is None:
            values = (names.OVERFLOW_LABEL_VALUE,) * len(self.labelnames)
            raw = self.metric.labels(*self._common, *values)
            self._overflow_child = self._overflow(raw, self._folded)  # type: ignore[call-arg,assignment]
        return self._overflow_child  # type: ignore[return-value]

    def _unlabelled(self) -> B:
        if self._default is None:
            report_failure(COMPONENT, f"{self.name}: needs labels {list(self.labelnames)}")
            return NULL  # type: ignore[no-any-return]
        return self._default


class CounterFamily(Family[Counter, BoundCounter]):
    """A counter; ``inc`` directly when it has no user labels."""

    _bound = BoundCounter
    _overflow = OverflowCounter

    def inc(self, amount: float = 1.0, exemplar: dict[str, str] | None = None) -> None:
        self._unlabelled().inc(amount, exemplar)


class HistogramFamily(Family[Histogram, BoundHistogram]):
    """A histogram (or timer); ``observe`` directly when it has no user labels."""

    _bound = BoundHistogram
    _overflow = OverflowHistogram
    buckets: tuple[float, ...] = ()  # upper bounds without +Inf, set by the registry

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        self._unlabelled().observe(amount, exemplar)


class GaugeFamily(Family[Gauge, BoundGauge]):
    """A gauge set by the app; ``inc``/``dec``/``set`` directly when it has no user labels."""

    _bound = BoundGauge
    _overflow = OverflowGauge

    def inc(self, amount: float = 1.0) -> None:
        self._unlabelled().inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        self._unlabelled().dec(amount)

    def set(self, value: float) -> None:
        self._unlabelled().set(value)
