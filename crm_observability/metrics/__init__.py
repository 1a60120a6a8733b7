"""Metrics: a Micrometer-like API over prometheus_client with common labels,
a per-metric series cap, ``@timed``, callback gauges, HTTP server metrics,
OpenMetrics exemplars and multiprocess support.  See docs/metrics.md.
"""

from __future__ import annotations

from crm_observability.metrics.collectors import CallbackGauge, read_memory_limit
from crm_observability.metrics.default import (
    counter,
    gauge,
    get_default_registry,
    histogram,
    set_default_registry,
    timed,
)
from crm_observability.metrics.exposition import metrics_asgi_app, render_exposition
from crm_observability.metrics.guard import (
    BoundCounter,
    BoundGauge,
    BoundHistogram,
    CounterFamily,
    GaugeFamily,
    HistogramFamily,
)
from crm_observability.metrics.http import HttpServerMetrics, normalize_method
from crm_observability.metrics.multiprocess import mark_worker_dead, prepare_multiprocess_dir
from crm_observability.metrics.pool import register_sqlalchemy_pool
from crm_observability.metrics.registry import MetricsRegistry
from crm_observability.metrics.timing import Timed

__all__ = [
    "BoundCounter",
    "BoundGauge",
    "BoundHistogram",
    "CallbackGauge",
    "CounterFamily",
    "GaugeFamily",
    "HistogramFamily",
    "HttpServerMetrics",
    "MetricsRegistry",
    "Timed",
    "counter",
    "gauge",
    "get_default_registry",
    "histogram",
    "mark_worker_dead",
    "metrics_asgi_app",
    "normalize_method",
    "prepare_multiprocess_dir",
    "read_memory_limit",
    "register_sqlalchemy_pool",
    "render_exposition",
    "set_default_registry",
    "timed",
]
