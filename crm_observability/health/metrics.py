"""Health results as Prometheus gauges, read at scrape time.

A custom collector (rather than three ``Gauge`` objects) so that a second
``HealthRegistry`` on the same ``CollectorRegistry`` (tests, re-instrumentation)
replaces the first one instead of failing with "Duplicated timeseries".
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crm_observability import conventions as names
from crm_observability.errors import report_failure
from crm_observability.health.model import Status
from crm_observability.settings import Settings

if TYPE_CHECKING:
    from crm_observability.health.registry import GroupResult

COMPONENT = "health.metrics"
_attached: weakref.WeakKeyDictionary[CollectorRegistry, HealthMetrics] = (
    weakref.WeakKeyDictionary()
)


def _up(status: Status) -> float:
    return 1.0 if status is Status.UP else 0.0


class HealthMetrics(Collector):
    """crm_health_check_status, crm_health_check_duration_seconds, crm_health_group_status."""

    def __init__(self, settings: Settings) -> None:
        self._common = (settings.application, settings.service_name, settings.environment)
        # Replaced wholesale on update, so a scrape thread never sees a dict mid-change.
        self._checks: dict[tuple[str, str], float] = {}
        self._durations: dict[str, float] = {}
        self._group_status: dict[str, float] = {}

    @classmethod
    def attach(cls, registry: CollectorRegistry, settings: Settings) -> HealthMetrics | None:
        """Register on ``registry``, replacing an earlier HealthMetrics there; None on conflict."""
        metrics = cls(settings)
        try:
            previous = _attached.get(registry)
            if previous is not None:
                registry.unregister(previous)
            registry.register(metrics)
        except (KeyError, ValueError) as exc:  # the names are taken by something else
            report_failure(COMPONENT, exc)
            return None
        _attached[registry] = metrics
        return metrics

    def record(self, result: GroupResult,
               groups_of: Callable[[str], frozenset[str]]) -> None:
        """Remember the statuses and durations of one evaluation. Never raises."""
        try:
            checks = dict(self._checks)
            durations = dict(self._durations)
            for name, check in result.checks.items():
                durations[name] = check.duration_s
                for group in groups_of(name):
                    checks[(name, group)] = _up(check.health.status)
            self._checks, self._durations = checks, durations
            if result.group is not None:
                self._group_status = {**self._group_status, result.group: _up(result.status)}
        except Exception as exc:
            report_failure(COMPONENT, exc)

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        common = list(names.COMMON_LABELS)
        return (
            GaugeMetricFamily(names.HEALTH_CHECK_STATUS,
                              "Last result of a health check (1 = UP, 0 otherwise).",
                              labels=[names.LABEL_CHECK, names.LABEL_GROUP, *common]),
            GaugeMetricFamily(names.HEALTH_CHECK_DURATION,
                              "Duration of the last run of a health check.",
                              labels=[names.LABEL_CHECK, *common], unit=""),
            GaugeMetricFamily(names.HEALTH_GROUP_STATUS,
                              "Last status of a health group (1 = UP, 0 otherwise).",
                              labels=[names.LABEL_GROUP, *common]),
        )

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        status, duration, group = self._families()
        for (check, grp), value in sorted(self._checks.items()):
            status.add_metric([check, grp, *self._common], value)
        for check, seconds in sorted(self._durations.items()):
            duration.add_metric([check, *self._common], seconds)
        for grp, value in sorted(self._group_status.items()):
            group.add_metric([grp, *self._common], value)
        return iter((status, duration, group))
