"""Collectors evaluated at scrape time: callback gauges, the library's own health
metrics, the cgroup memory limit, and the default process collectors with common labels.

Each ``collect`` contains its own failures: a raising callback omits its series
and is reported through :func:`crm_observability.errors.report_failure`, so one
bad callback never breaks ``/metrics``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from crm_observability import conventions as names
from crm_observability.errors import dropped_counts, failure_counts, report_failure

COMPONENT = "metrics"

# A callback returns one value (no user labels) or {label values: value}.
GaugeCallback = Callable[[], float] | Callable[[], Mapping[Any, float]]


class CallbackGauge(Collector):
    """A gauge whose value is read from callbacks when scraped (Micrometer's Gauge.builder).

    ``callback`` (if given) must return a number for a gauge without user labels,
    or a mapping of user label values (a tuple, or a str for one label) to numbers.
    :meth:`set_function` adds a callback for one fixed label set.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        common: Mapping[str, str],
        labelnames: Sequence[str] = (),
        callback: GaugeCallback | None = None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._label_keys = [*common, *self.labelnames]
        self._common = tuple(common.values())
        self._lock = threading.Lock()
        self._fixed: dict[tuple[str, ...], Callable[[], float]] = {}
        self._multi: Callable[[], Mapping[Any, float]] | None = None
        if callback is not None:
            self.set_callback(callback)

    def set_callback(self, callback: GaugeCallback) -> None:
        """Replace the callback (the last one set wins, like ``Gauge.set_function``)."""
        with self._lock:
            if self.labelnames:
                self._multi = callback  # type: ignore[assignment]
            else:
                self._fixed[()] = callback  # type: ignore[assignment]

    def set_function(self, callback: Callable[[], float], **labels: object) -> None:
        """Read the series with these user label values from ``callback``."""
        if set(labels) != set(self.labelnames):
            raise ValueError(
                f"{self.name}: labels {sorted(labels)} do not match {list(self.labelnames)}"
            )
        key = tuple(str(labels[n]) for n in self.labelnames)
        with self._lock:
            self._fixed[key] = callback

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.name, self.documentation, labels=self._label_keys)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self._label_keys)
        with self._lock:
            fixed = list(self._fixed.items())
            multi = self._multi
        for key, callback in fixed:
            value = _call(self.name, callback)
            if value is not None:
                family.add_metric([*self._common, *key], value)
        if multi is not None:
            for key, value in _call_multi(self.name, multi, len(self.labelnames)):
                family.add_metric([*self._common, *key], value)
        return [family]


def _call(name: str, callback: Callable[[], float]) -> float | None:
    try:
        return float(callback())
    except Exception as exc:
        report_failure(COMPONENT, f"gauge {name} callback: {type(exc).__name__}: {exc}")
        return None


def _call_multi(
    name: str, callback: Callable[[], Mapping[Any, float]], width: int
) -> list[tuple[tuple[str, ...], float]]:
    try:
        out: list[tuple[tuple[str, ...], float]] = []
        for raw_key, value in callback().items():
            key = (raw_key,) if isinstance(raw_key, str) else tuple(raw_key)
            if len(key) != width:
                raise ValueError(f"key {raw_key!r} needs {width} label values")
            out.append((tuple(str(k) for k in key), float(value)))
        return out
    except Exception as exc:
        report_failure(COMPONENT, f"gauge {name} callback: {type(exc).__name__}: {exc}")
        return []


class TelemetryCollector(Collector):
    """The library's own failure and drop counts from :mod:`crm_observability.errors`."""

    def __init__(self, common: Mapping[str, str]) -> None:
        self._keys = [*common, names.LABEL_COMPONENT]
        self._common = list(common.values())

    def describe(self) -> Iterable[Metric]:
        return [
            CounterMetricFamily(names.TELEMETRY_ERRORS_TOTAL, "", labels=self._keys),
            CounterMetricFamily(names.SPANS_DROPPED_TOTAL, "", labels=self._keys),
        ]

    def collect(self) -> Iterable[Metric]:
        errors = CounterMetricFamily(
            names.TELEMETRY_ERRORS_TOTAL,
            "Telemetry failures contained by crm_observability, by component.",
            labels=self._keys,
        )
        for component, count in sorted(failure_counts().items()):
            errors.add_metric([*self._common, component], count)
        dropped = CounterMetricFamily(
            names.SPANS_DROPPED_TOTAL,
            "Spans and other telemetry items dropped, by component.",
            labels=self._keys,
        )
        for component, count in sorted(dropped_counts().items()):
            dropped.add_metric([*self._common, component], count)
        return [errors, dropped]


# cgroup v2 first, then v1; a v1 limit this large means "no limit".
CGROUP_V2_LIMIT = "sys/fs/cgroup/memory.max"
CGROUP_V1_LIMIT = "sys/fs/cgroup/memory/memory.limit_in_bytes"
_V1_UNLIMITED = 1 << 62


def read_memory_limit(root: str | os.PathLike[str] = "/") -> int | None:
    """The container memory limit in bytes, or None when unlimited or unknown."""
    base = Path(root)
    try:
        raw = (base / CGROUP_V2_LIMIT).read_text().strip()
        return None if raw == "max" else int(raw)
    except (OSError, ValueError):
        pass
    try:
        value = int((base / CGROUP_V1_LIMIT).read_text().strip())
    except (OSError, ValueError):
        return None
    return None if value >= _V1_UNLIMITED else value


class MemoryLimitCollector(Collector):
    """``crm_process_memory_limit_bytes``, omitted when the process has no limit."""

    def __init__(self, common: Mapping[str, str], root: str | os.PathLike[str] = "/") -> None:
        self._keys = list(common)
        self._common = list(common.values())
        self._root = root

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(names.PROCESS_MEMORY_LIMIT, "", labels=self._keys)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            names.PROCESS_MEMORY_LIMIT,
            "Memory limit of the process's cgroup in bytes (absent when unlimited).",
            labels=self._keys,
        )
        limit = read_memory_limit(self._root)
        if limit is not None:
            family.add_metric(self._common, limit)
        return [family]


class CommonLabelsCollector(Collector):
    """Adds the common labels to every sample of ``inner`` (process, platform, gc).

    Then ``process_resident_memory_bytes / crm_process_memory_limit_bytes``
    matches one-to-one without ``on()``.
    """

    def __init__(self, inner: Collector, common: Mapping[str, str]) -> None:
        self._inner = inner
        self._common = dict(common)

    def describe(self) -> Iterable[Metric]:
        # The inner collector's names, so registering twice is caught as a duplicate.
        return self._inner.collect()

    def collect(self) -> Iterable[Metric]:
        try:
            metrics = list(self._inner.collect())
        except Exception as exc:
            report_failure(COMPONENT, exc)
            return []
        for metric in metrics:
            metric.samples = [
                s._replace(labels={**self._common, **s.labels}) for s in metric.samples
            ]
        return metrics
