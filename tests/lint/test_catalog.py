"""The metric catalog from a registry, an exposition, a catalog file and a real scrape."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import HTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import MetricsHandler
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from crm_observability import conventions as c
from crm_observability.lint.catalog import (
    COUNTER,
    GAUGE,
    HISTOGRAM,
    RECORDED,
    Catalog,
    CatalogError,
    catalog_from_exposition,
    catalog_from_mapping,
    catalog_from_registry,
    expand,
    load_catalog,
)


def _check_standard(catalog: Catalog) -> None:
    assert catalog.kind(c.HTTP_SERVER_DURATION + "_bucket") == COUNTER
    assert catalog.kind(c.HTTP_SERVER_DURATION + "_count") == COUNTER
    assert catalog.kind(c.HTTP_SERVER_DURATION) == HISTOGRAM
    assert catalog.kind(c.USERS_ACTIVE) == GAUGE
    assert catalog.kind(c.CONTACTS_CREATED_TOTAL) == COUNTER
    assert c.HEALTH_CHECK_STATUS in catalog
    assert "crm_nothing" not in catalog and 3 not in catalog
    assert catalog.kind("up") == GAUGE  # added by Prometheus to every target


def test_from_registry(registry: CollectorRegistry) -> None:
    _check_standard(catalog_from_registry(registry))


def test_from_prometheus_text(registry: CollectorRegistry) -> None:
    _check_standard(catalog_from_exposition(generate_latest(registry).decode()))


def test_from_openmetrics(registry: CollectorRegistry) -> None:
    _check_standard(catalog_from_exposition(generate_openmetrics(registry).decode()))


def test_bad_exposition_names_source() -> None:
    with pytest.raises(CatalogError, match=r"^m\.prom: not a metrics exposition"):
        catalog_from_exposition("# TYPE x counter\nx_total{a=\"b\" 1\n", "m.prom")


def test_catalog_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text(f"metrics:\n  {c.USERS_ACTIVE}: gauge\n  {c.CONTACTS_CREATED_TOTAL}: counter\n"
                    f"  {c.HTTP_SERVER_DURATION}: histogram\n")
    catalog = load_catalog(str(path))
    assert catalog.kind(c.CONTACTS_CREATED_TOTAL) == COUNTER
    assert catalog.kind(c.HTTP_SERVER_DURATION + "_sum") == COUNTER
    assert catalog.kind(c.USERS_ACTIVE) == GAUGE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"metrics": [1]}, "field 'metrics': want a mapping"),
        ({"metrics": {"x": "meter"}}, "field 'metrics.x': type 'meter' is not one of"),
        (None, "field 'metrics'"),
    ],
)
def test_bad_catalog_mapping(data: object, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        catalog_from_mapping(data, "catalog.yml")


def test_bad_catalog_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(str(tmp_path / "none.yml"))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(CatalogError, match=r"broken\.json: invalid JSON"):
        load_catalog(str(broken))
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    with pytest.raises(CatalogError, match="field 'metrics'"):
        load_catalog(str(empty))


def test_expand_summary_and_recorded() -> None:
    catalog = expand([("rpc_seconds", "summary")]).with_recorded(["job:rpc:rate5m"])
    assert catalog.kind("rpc_seconds_count") == COUNTER
    assert catalog.kind("job:rpc:rate5m") == RECORDED
    merged = catalog.merged(expand([("g", "gauge")]))
    assert merged.kind("g") == GAUGE and merged.kind("rpc_seconds") == "summary"


@pytest.fixture
def metrics_url(registry: CollectorRegistry) -> Iterator[str]:
    """A real HTTP /metrics endpoint on a free loopback port."""
    handler = MetricsHandler.factory(registry)
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    server.server_close()


def test_scrape_url(metrics_url: str) -> None:
    _check_standard(load_catalog(metrics_url))


def test_scrape_failure_names_url() -> None:
    server = HTTPServer(("127.0.0.1", 0), MetricsHandler)
    port = server.server_port
    server.server_close()  # nothing listens there now
    with pytest.raises(CatalogError, match=rf"^http://127.0.0.1:{port}/metrics: cannot scrape"):
        load_catalog(f"http://127.0.0.1:{port}/metrics", timeout=2)
