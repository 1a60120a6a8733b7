"""Fixtures for the metrics tests: a fresh registry per test, clean failure counts."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crm_observability import errors
from crm_observability.metrics import MetricsRegistry, render_exposition
from crm_observability.settings import Settings

SETTINGS = Settings(service_name="contacts-service", environment="testing", series_limit=5)
COMMON = {"application": "crm-platform", "service": "contacts-service", "environment": "testing"}


@pytest.fixture(autouse=True)
def _clean_errors() -> Iterator[None]:
    errors.reset_for_tests()
    yield
    errors.reset_for_tests()


@pytest.fixture
def metrics() -> MetricsRegistry:
    return MetricsRegistry(SETTINGS)


Samples = list[tuple[str, dict[str, str], float]]


def scrape(metrics: MetricsRegistry, accept: str | None = None) -> dict[str, Samples]:
    """Parsed text exposition: family name -> [(sample name, labels, value)]."""
    body, _ = render_exposition(metrics.registry, accept)
    return {
        family.name: [(s.name, dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(body.decode())
    }


def sample(metrics: MetricsRegistry, name: str, **labels: str) -> float | None:
    """The value of the one sample ``name`` whose labels include ``labels`` (None if absent)."""
    found = [
        value
        for samples in scrape(metrics).values()
        for sname, slabels, value in samples
        if sname == name and labels.items() <= slabels.items()
    ]
    assert len(found) <= 1, f"{name}{labels} matches {len(found)} samples"
    return found[0] if found else None


def require_tool(name: str) -> str:
    """Path of ``name``; in CI a missing binary fails the test instead of skipping it."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is required in CI but not installed")
        pytest.skip(f"{name} not installed")
    return path
