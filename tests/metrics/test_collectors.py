"""Scrape-time collectors: callback gauges, the library's own counts, the memory limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.metrics import MetricsRegistry, read_memory_limit
from crm_observability.metrics.collectors import CommonLabelsCollector, MemoryLimitCollector

from .conftest import COMMON, sample, scrape


class ActiveUsers:
    def __init__(self) -> None:
        self.users: set[str] = set()

    def count(self) -> float:
        return float(len(self.users))


def test_callback_gauge_is_read_at_scrape_time(metrics: MetricsRegistry) -> None:
    active = ActiveUsers()
    metrics.gauge(names.USERS_ACTIVE, "Active users", callback=active.count)
    assert sample(metrics, names.USERS_ACTIVE) == 0
    active.users |= {"u1", "u2"}
    assert sample(metrics, names.USERS_ACTIVE) == 2  # not a constant 0.0
    # re-declaring with a new callback replaces it (last wins)
    again = metrics.gauge(names.USERS_ACTIVE, "Active users", callback=lambda: 42)
    assert sample(metrics, names.USERS_ACTIVE) == 42
    assert again is metrics.gauge(names.USERS_ACTIVE, "Active users", callback=lambda: 42)


def test_raising_callback_omits_its_series_and_is_counted(metrics: MetricsRegistry) -> None:
    def broken() -> float:
        raise ConnectionError("redis down")

    metrics.gauge("crm_queue_depth", "Queue depth", callback=broken)
    metrics.gauge("crm_workers", "Workers", callback=lambda: 4)
    families = scrape(metrics)
    assert families["crm_queue_depth"] == []
    assert sample(metrics, "crm_workers") == 4  # the rest of /metrics is intact
    assert errors.failure_counts()["metrics"] >= 1
    assert sample(metrics, names.TELEMETRY_ERRORS_TOTAL, component="metrics") >= 1


def test_labelled_callback_gauge(metrics: MetricsRegistry) -> None:
    depth = {"email": 3, "sms": 0}
    gauge = metrics.gauge("crm_queue_depth", "Queue depth", ("queue",), callback=lambda: depth)
    gauge.set_function(lambda: 9, queue="push")
    assert sample(metrics, "crm_queue_depth", queue="email") == 3
    assert sample(metrics, "crm_queue_depth", queue="sms") == 0
    assert sample(metrics, "crm_queue_depth", queue="push") == 9
    with pytest.raises(ValueError, match="do not match"):
        gauge.set_function(lambda: 1, other="x")


def test_labelled_callback_with_bad_keys_is_contained(metrics: MetricsRegistry) -> None:
    metrics.gauge("crm_pairs", "Pairs", ("a", "b"), callback=lambda: {("x",): 1.0})
    metrics.gauge("crm_nan", "Not numbers", callback=lambda: "many")  # type: ignore[arg-type,return-value]
    assert scrape(metrics)["crm_pairs"] == []
    assert scrape(metrics)["crm_nan"] == []
    assert errors.failure_counts()["metrics"] >= 2


def test_callback_gauge_name_is_reserved(metrics: MetricsRegistry) -> None:
    metrics.gauge("crm_workers", "Workers", callback=lambda: 1)
    with pytest.raises(ValueError, match="already declared"):
        metrics.counter("crm_workers", "Workers")


def test_telemetry_counts_are_exported(metrics: MetricsRegistry) -> None:
    errors.report_failure("tracing.export", "collector unreachable", count=3)
    errors.count_dropped("tracing", 7)
    assert sample(metrics, names.TELEMETRY_ERRORS_TOTAL, component="tracing.export") == 3
    assert sample(metrics, names.SPANS_DROPPED_TOTAL, component="tracing") == 7


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"sys/fs/cgroup/memory.max": "536870912\n"}, 536870912),
        ({"sys/fs/cgroup/memory.max": "max\n"}, None),
        ({"sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456\n"}, 268435456),
        ({"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, None),
        ({"sys/fs/cgroup/memory/memory.limit_in_bytes": "garbage"}, None),
        ({}, None),
    ],
)
def test_memory_limit_from_cgroup(tmp_path: Path, files: dict[str, str],
                                  expected: int | None) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert read_memory_limit(tmp_path) == expected
    registry = CollectorRegistry()
    registry.register(MemoryLimitCollector(COMMON, tmp_path))
    [family] = list(registry.collect())
    assert [s.value for s in family.samples] == ([] if expected is None else [expected])
    if expected is not None:
        assert family.samples[0].labels == COMMON


def test_common_labels_collector_contains_a_failing_inner() -> None:
    class Broken:
        def collect(self) -> list[object]:
            raise OSError("/proc is gone")

    assert list(CommonLabelsCollector(Broken(), COMMON).collect()) == []  # type: ignore[arg-type]
    assert errors.failure_counts()["metrics"] == 1
