"""Shared fixtures: a metric catalog exported by a real prometheus_client registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from crm_observability import conventions as c

FIXTURES = Path(__file__).parent / "fixtures"


def build_registry() -> CollectorRegistry:
    """The metrics a CRM service exports (names from conventions), on a fresh registry."""
    registry = CollectorRegistry()
    Histogram(c.HTTP_SERVER_DURATION, "HTTP server duration",
              [c.LABEL_SERVICE, c.LABEL_HTTP_ROUTE, c.LABEL_HTTP_STATUS],
              registry=registry, buckets=c.HTTP_DURATION_BUCKETS)
    Gauge(c.USERS_ACTIVE, "Active users", [c.LABEL_SERVICE], registry=registry)
    Counter(c.CONTACTS_CREATED_TOTAL, "Contacts created", [c.LABEL_SERVICE], registry=registry)
    Gauge(c.HEALTH_CHECK_STATUS, "Health", [c.LABEL_CHECK], registry=registry).labels("db").set(1)
    return registry


@pytest.fixture
def registry() -> CollectorRegistry:
    return build_registry()


@pytest.fixture
def catalog_file(tmp_path: Path, registry: CollectorRegistry) -> Path:
    """A real /metrics exposition written to a file."""
    path = tmp_path / "metrics.prom"
    path.write_bytes(generate_latest(registry))
    return path
