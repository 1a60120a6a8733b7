"""MetricsRegistry: common labels, idempotent declarations, no duplicated timeseries."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, ProcessCollector

from crm_observability import conventions as names
from crm_observability.metrics import MetricsRegistry
from crm_observability.settings import Settings

from .conftest import COMMON, SETTINGS, sample, scrape


def test_every_series_carries_the_common_labels(metrics: MetricsRegistry) -> None:
    metrics.counter(names.CONTACTS_CREATED_TOTAL, "Contacts created", (names.LABEL_TYPE,)) \
        .labels(type="business").inc()
    metrics.histogram("crm_import_rows", "Rows per import", buckets=(10, 100)).observe(42)
    metrics.gauge("crm_queue_depth", "Queue depth").set(7)
    metrics.gauge(names.USERS_ACTIVE, "Active users", callback=lambda: 3)
    metrics.http_server_metrics().observe("GET", "/contacts/{id}", 200, 0.01)
    families = scrape(metrics)
    # process, platform and gc collectors are there too, with the same labels
    assert names.PROCESS_RESIDENT_MEMORY in families
    assert "python_gc_collections" in families
    all_samples = [s for samples in families.values() for s in samples]
    assert len(all_samples) > 30
    for sname, labels, _ in all_samples:
        assert COMMON.items() <= labels.items(), sname


def test_values_land_in_the_right_series(metrics: MetricsRegistry) -> None:
    created = metrics.counter(names.CONTACTS_CREATED_TOTAL, "Contacts created",
                              (names.LABEL_TYPE,))
    created.labels(type="business").inc()
    created.labels("business").inc(2.5)
    created.labels(type="import").inc()
    assert sample(metrics, "crm_contacts_created_total", type="business") == 3.5
    assert sample(metrics, "crm_contacts_created_total", type="import") == 1.0
    rows = metrics.histogram("crm_import_rows", "Rows", buckets=(10, 100))
    for value in (5, 50, 500):
        rows.observe(value)
    assert sample(metrics, "crm_import_rows_bucket", le="10.0") == 1
    assert sample(metrics, "crm_import_rows_bucket", le="100.0") == 2
    assert sample(metrics, "crm_import_rows_bucket", le="+Inf") == 3
    assert sample(metrics, "crm_import_rows_sum") == 555
    depth = metrics.gauge("crm_queue_depth", "Queue depth")
    depth.set(10)
    depth.inc(5)
    depth.dec(2)
    assert sample(metrics, "crm_queue_depth") == 13


def test_declaration_is_idempotent(metrics: MetricsRegistry) -> None:
    first = metrics.counter("crm_things_total", "Things", ("kind",))
    assert metrics.counter("crm_things_total", "Things", ("kind",)) is first
    assert metrics.counter("crm_things", "Things", ("kind",)) is first  # _total is implied
    assert metrics.timer("crm_step", "Step") is metrics.timer("crm_step_seconds", "Step")


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda m: m.counter("crm_things_total", "Things", ("other",)), "already declared"),
        (lambda m: m.gauge("crm_things", "Things", ("kind",)), "already declared"),
        (lambda m: m.histogram("crm_things", "Things", ("kind",)), "already declared"),
        (lambda m: m.counter("crm_x_total", "X", ("service",)), "common labels"),
    ],
)
def test_conflicting_declaration_raises_at_declaration(declare, message: str,
                                                        metrics: MetricsRegistry) -> None:
    metrics.counter("crm_things_total", "Things", ("kind",))
    with pytest.raises(ValueError, match=message):
        declare(metrics)


def test_histogram_buckets_are_part_of_the_shape(metrics: MetricsRegistry) -> None:
    metrics.histogram("crm_sizes", "Sizes", buckets=(1, 2))
    with pytest.raises(ValueError, match="already declared"):
        metrics.histogram("crm_sizes", "Sizes", buckets=(1, 3))


def test_units_are_appended_once(metrics: MetricsRegistry) -> None:
    metrics.counter("crm_payload", "Bytes received", unit="bytes").inc(10)
    metrics.timer("crm_sync", "Sync time").observe(0.2)
    assert sample(metrics, "crm_payload_bytes_total") == 10
    assert sample(metrics, "crm_sync_seconds_count") == 1


def test_new_registry_per_instance_never_duplicates() -> None:
    for _ in range(3):
        m = MetricsRegistry(SETTINGS)
        m.counter("crm_things_total", "Things").inc()
        m.http_server_metrics().observe("GET", "/a", 200, 0.1)
        assert sample(m, "crm_things_total") == 1


def test_two_registries_on_one_collector_registry_share_metrics() -> None:
    shared = CollectorRegistry()
    a = MetricsRegistry(SETTINGS, shared)
    b = MetricsRegistry(SETTINGS, shared)
    assert a.counter("crm_things_total", "Things") is b.counter("crm_things_total", "Things")
    assert a.http_server_metrics() is b.http_server_metrics()
    a.counter("crm_things_total", "Things").inc()
    b.counter("crm_things_total", "Things").inc()
    assert sample(a, "crm_things_total") == 2
    # other common labels on the same registry are a conflict, not a silent mix
    other = MetricsRegistry(Settings(service_name="deals-service"), shared)
    with pytest.raises(ValueError, match="already declared"):
        other.counter("crm_things_total", "Things")


def test_registry_that_already_has_process_metrics_gets_no_second_copy() -> None:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    m = MetricsRegistry(SETTINGS, registry)
    assert len(scrape(m)[names.PROCESS_RESIDENT_MEMORY]) == 1


def test_default_registry_is_never_the_prometheus_global() -> None:
    from prometheus_client import REGISTRY

    assert MetricsRegistry(SETTINGS).registry is not REGISTRY
