"""``MetricsRegistry``: a Micrometer-like front to one prometheus_client CollectorRegistry.

Every metric gets the common labels (application, service, environment) first,
pre-filled, so callers pass only their own.  Declarations are idempotent: the
same name and shape returns the same object; a different shape under a taken
name is a programming error and raises ``ValueError`` at declaration time.
Declarations are kept per CollectorRegistry, so two MetricsRegistry objects on
one CollectorRegistry share them instead of hitting "Duplicated timeseries".
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Literal, overload

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.registry import Collector

from crm_observability import conventions as names
from crm_observability.metrics.collectors import (
    CallbackGauge,
    CommonLabelsCollector,
    GaugeCallback,
    MemoryLimitCollector,
    TelemetryCollector,
)
from crm_observability.metrics.guard import (
    BoundCounter,
    CounterFamily,
    GaugeFamily,
    HistogramFamily,
)
from crm_observability.metrics.http import HttpServerMetrics
from crm_observability.metrics.multiprocess import ensure_value_class
from crm_observability.metrics.state import state_for
from crm_observability.metrics.timing import Timed
from crm_observability.settings import Settings

MultiprocessMode = Literal[
    "all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum",
    "mostrecent", "livemostrecent",
]


def _full_name(kind: str, name: str, unit: str) -> str:
    # The name prometheus_client will expose (counters drop "_total", units append).
    if kind == "counter" and name.endswith("_total"):
        name = name[: -len("_total")]
    if unit and not name.endswith("_" + unit):
        name = f"{name}_{unit}"
    return name


class MetricsRegistry:
    """Counters, histograms, timers and gauges with common labels and a series cap."""

    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        # Never the prometheus global: a fresh registry per instance unless given one.
        self.registry = registry if registry is not None else CollectorRegistry()
        self.common_labels: dict[str, str] = {
            names.LABEL_APPLICATION: settings.application,
            names.LABEL_SERVICE: settings.service_name,
            names.LABEL_ENVIRONMENT: settings.environment,
        }
        self.multiprocess = ensure_value_class()
        self._common_values = tuple(self.common_labels.values())
        self._state = state_for(self.registry)
        with self._state.lock:
            self._install()

    def _install(self) -> None:
        state = self._state
        if state.overflow is not None:
            return
        state.overflow = Counter(
            names.SERIES_OVERFLOW_TOTAL,
            "Observations folded into a metric's overflow series by the series cap.",
            [*names.COMMON_LABELS, names.LABEL_METRIC],
            registry=self.registry,
        )
        memory = MemoryLimitCollector(self.common_labels)
        self._register_quietly(memory)
        state.scrape_safe.append(memory)
        if self.multiprocess:
            return  # per-process collectors would jump between workers
        self._register_quietly(TelemetryCollector(self.common_labels))
        for inner in (
            ProcessCollector(registry=None),
            PlatformCollector(registry=None),
            GCCollector(registry=CollectorRegistry()),  # it insists on registering somewhere
        ):
            self._register_quietly(CommonLabelsCollector(inner, self.common_labels))

    def _register_quietly(self, collector: Collector) -> None:
        # A registry handed in may already have it (e.g. the prometheus default one).
        with contextlib.suppress(ValueError):
            self.registry.register(collector)

    # --- declarations ----------------------------------------------------------
    def _declare(self, name: str, signature: tuple[Any, ...], make: Any) -> Any:
        with self._state.lock:
            found = self._state.declared.get(name)
            if found is not None:
                if found[0] != signature:
                    raise ValueError(
                        f"metric {name!r} is already declared as {found[0]}; "
                        f"cannot re-declare it as {signature}"
                    )
                return found[1]
            obj = make()
            self._state.declared[name] = (signature, obj)
            return obj

    def _folded(self, name: str) -> BoundCounter:
        assert self._state.overflow is not None
        return BoundCounter(self._state.overflow.labels(*self._common_values, name))

    def _labelnames(self, labelnames: Sequence[str]) -> tuple[str, ...]:
        labels = tuple(labelnames)
        clash = set(labels) & set(names.COMMON_LABELS)
        if clash:
            raise ValueError(f"labels {sorted(clash)} are common labels, set by the registry")
        return labels

    def counter(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *, unit: str = ""
    ) -> CounterFamily:
        """A counter (``_total`` is added on exposition)."""
        labels = self._labelnames(labelnames)
        full = _full_name("counter", name, unit)

        def make() -> CounterFamily:
            metric = Counter(full, documentation, [*names.COMMON_LABELS, *labels],
                             unit=unit, registry=self.registry)
            return CounterFamily(metric, self._common_values, labels,
                                 self.settings.series_limit, self._folded(full))

        return self._declare(full, ("counter", labels, unit, self._common_values), make)  # type: ignore[no-any-return]

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float] = names.HTTP_DURATION_BUCKETS,
        unit: str = "",
    ) -> HistogramFamily:
        """A histogram with ``buckets`` (default: the OTel HTTP duration buckets)."""
        labels = self._labelnames(labelnames)
        full = _full_name("histogram", name, unit)
        bounds = tuple(float(b) for b in buckets)

        def make() -> HistogramFamily:
            metric = Histogram(full, documentation, [*names.COMMON_LABELS, *labels],
                               unit=unit, buckets=bounds, registry=self.registry)
            family = HistogramFamily(metric, self._common_values, labels,
                                     self.settings.series_limit, self._folded(full))
            family.buckets = tuple(b for b in bounds if b != float("inf"))
            return family

        return self._declare(  # type: ignore[no-any-return]
            full, ("histogram", labels, bounds, self._common_values), make
        )

    def timer(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float] = names.HTTP_DURATION_BUCKETS,
    ) -> HistogramFamily:
        """A histogram of durations in seconds (``_seconds`` is appended if missing)."""
        return self.histogram(name, documentation, labelnames, buckets=buckets, unit="seconds")

    @overload
    def gauge(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *,
        callback: None = None, multiprocess_mode: MultiprocessMode = "livesum",
    ) -> GaugeFamily: ...

    @overload
    def gauge(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *,
        callback: GaugeCallback, multiprocess_mode: MultiprocessMode = "livesum",
    ) -> CallbackGauge: ...

    def gauge(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        callback: GaugeCallback | None = None,
        multiprocess_mode: MultiprocessMode = "livesum",
    ) -> GaugeFamily | CallbackGauge:
        """A gauge the app sets (``GaugeFamily``), or with ``callback`` one read at
        scrape time (``CallbackGauge``; a raising callback omits its series).

        ``multiprocess_mode`` says how workers' values combine (default: sum of live workers).
        """
        labels = self._labelnames(labelnames)
        if callback is not None:
            return self._callback_gauge(name, documentation, labels, callback)

        def make() -> GaugeFamily:
            metric = Gauge(name, documentation, [*names.COMMON_LABELS, *labels],
                           registry=self.registry, multiprocess_mode=multiprocess_mode)
            return GaugeFamily(metric, self._common_values, labels,
                               self.settings.series_limit, self._folded(name))

        family: GaugeFamily = self._declare(
            name, ("gauge", labels, multiprocess_mode, self._common_values), make
        )
        return family

    def _callback_gauge(
        self, name: str, documentation: str, labels: tuple[str, ...], callback: GaugeCallback
    ) -> CallbackGauge:
        def make() -> CallbackGauge:
            gauge = CallbackGauge(name, documentation, self.common_labels, labels)
            self.registry.register(gauge)
            return gauge

        gauge: CallbackGauge = self._declare(
            name, ("callback_gauge", labels, self._common_values), make
        )
        gauge.set_callback(callback)
        return gauge

    def timed(
        self,
        name_or_histogram: str | HistogramFamily,
        documentation: str = "",
        labelnames: Sequence[str] = (),
        **labels: object,
    ) -> Timed:
        """Time a function (sync or async) or a ``with`` block into a seconds histogram.

        ``labels`` fix the user label values; ``labelnames`` defaults to their names.
        """
        if isinstance(name_or_histogram, str):
            family = self.timer(name_or_histogram, documentation or name_or_histogram,
                                tuple(labelnames) or tuple(labels))
        else:
            family = name_or_histogram
        child = family.labels(**labels) if family.labelnames else family.labels()
        return Timed(child)

    def http_server_metrics(self) -> HttpServerMetrics:
        """The HTTP server metrics of this registry (one instance per CollectorRegistry)."""
        with self._state.lock:
            existing = self._state.extras.get("http")
            if existing is not None:
                return existing  # type: ignore[no-any-return]
            duration = self.histogram(
                names.HTTP_SERVER_DURATION,
                "Duration of HTTP server requests.",
                (names.LABEL_HTTP_METHOD, names.LABEL_HTTP_ROUTE, names.LABEL_HTTP_STATUS),
                buckets=self.settings.http_buckets,
            )
            active = self.gauge(
                names.HTTP_SERVER_ACTIVE,
                "Number of active HTTP server requests.",
                (names.LABEL_HTTP_METHOD,),
                multiprocess_mode="livesum",
            )
            http = HttpServerMetrics(duration, active)
            self._state.extras["http"] = http
            return http

    def extra(self, key: str, make: Any) -> Any:
        """A per-CollectorRegistry singleton built once by ``make()`` (used by add-ons)."""
        with self._state.lock:
            if key not in self._state.extras:
                self._state.extras[key] = make()
            return self._state.extras[key]
