"""SQLAlchemy connection-pool gauges, read at scrape time.

``crm_db_pool_connections_in_use`` and ``crm_db_pool_connections_max`` per
pool name feed the DatabaseConnectionPoolExhausted alert (in use / max).
Pools without a fixed size (NullPool, StaticPool) report no max.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crm_observability import conventions as names
from crm_observability.errors import report_failure
from crm_observability.metrics.registry import MetricsRegistry


def pool_figures(pool: Any) -> tuple[int | None, int | None]:
    """(connections checked out, maximum connections) of a SQLAlchemy pool; None if unknown."""
    checkedout = getattr(pool, "checkedout", None)
    in_use = int(checkedout()) if callable(checkedout) else None
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", None)  # QueuePool keeps it only privately
    if not callable(size) or overflow is None or overflow < 0:
        return in_use, None
    return in_use, int(size()) + int(overflow)


class PoolCollector(Collector):
    """Both gauges for every registered engine (held weakly: a disposed engine drops out)."""

    def __init__(self, common: dict[str, str]) -> None:
        self._keys = [*common, names.LABEL_POOL]
        self._common = list(common.values())
        self._engines: dict[str, weakref.ref[Any]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, engine: Any) -> None:
        with self._lock:
            self._engines[name] = weakref.ref(engine)

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(names.DB_POOL_CONNECTIONS_IN_USE,
                              "Connections checked out of the pool.", labels=self._keys),
            GaugeMetricFamily(names.DB_POOL_CONNECTIONS_MAX,
                              "Most connections the pool will open (size + overflow).",
                              labels=self._keys),
        )

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        in_use_family, max_family = self._families()
        with self._lock:
            engines = sorted(self._engines.items())
        for name, ref in engines:
            engine = ref()
            if engine is None:
                continue
            try:
                in_use, maximum = pool_figures(engine.pool)
            except Exception as exc:
                report_failure("metrics", exc)
                continue
            if in_use is not None:
                in_use_family.add_metric([*self._common, name], in_use)
            if maximum is not None:
                max_family.add_metric([*self._common, name], maximum)
        return [in_use_family, max_family]


def register_sqlalchemy_pool(metrics: MetricsRegistry, engine: Any, name: str = "default") -> None:
    """Export ``engine``'s pool figures under ``pool=name`` (same name again: replaced)."""

    def make() -> PoolCollector:
        collector = PoolCollector(metrics.common_labels)
        metrics.registry.register(collector)
        return collector

    collector: PoolCollector = metrics.extra("sqlalchemy_pool", make)
    collector.add(name, engine)
