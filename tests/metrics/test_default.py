"""The module-level API follows the default registry that instrument() installs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import crm_observability.metrics.default as default_module
from crm_observability.metrics import (
    MetricsRegistry,
    counter,
    gauge,
    get_default_registry,
    histogram,
    set_default_registry,
    timed,
)
from crm_observability.settings import Settings

from .conftest import SETTINGS, sample


@pytest.fixture(autouse=True)
def _restore_default() -> Iterator[None]:
    saved = default_module._default
    yield
    default_module._default = saved


def test_default_is_created_lazily_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    default_module._default = None
    monkeypatch.setenv("CRM_OBS_SERVICE_NAME", "leads-service")
    monkeypatch.setenv("CRM_OBS_ENVIRONMENT", "staging")
    first = get_default_registry()
    assert first is get_default_registry()
    assert first.common_labels == {"application": "crm-platform", "service": "leads-service",
                                   "environment": "staging"}


def test_module_level_metrics_follow_set_default_registry() -> None:
    before = MetricsRegistry(SETTINGS)
    set_default_registry(before)
    won = counter("crm_deals_won_total", "Deals won", ("type",))
    sizes = histogram("crm_deal_size", "Deal size", buckets=(1000, 10000))
    gauge("crm_users_active", "Active users", callback=lambda: 5)
    level = gauge("crm_pipeline_level", "Pipeline level")

    @timed("crm_forecast", "Forecast time")
    async def forecast() -> int:
        return 3

    won.labels(type="business").inc()
    after = MetricsRegistry(Settings(service_name="deals-service"))
    set_default_registry(after)  # what instrument() does
    # declared on the new registry at once: the callback gauge is scraped there
    assert sample(after, "crm_users_active") == 5
    assert sample(after, "crm_deals_won_total", type="business") is None
    won.labels(type="business").inc(2)
    sizes.observe(5000)
    level.set(4)
    assert asyncio.run(forecast()) == 3
    assert sample(after, "crm_deals_won_total", type="business") == 2
    assert sample(after, "crm_deal_size_bucket", le="10000.0") == 1
    assert sample(after, "crm_pipeline_level") == 4
    assert sample(after, "crm_forecast_seconds_count") == 1
    assert sample(before, "crm_deals_won_total", type="business") == 1  # old one untouched


def test_module_level_timed_with_a_histogram() -> None:
    m = MetricsRegistry(SETTINGS)
    set_default_registry(m)
    hist = m.timer("crm_sync", "Sync", ("target",))

    @timed(hist, target="erp")
    def sync() -> None:
        pass

    sync()
    assert sample(m, "crm_sync_seconds_count", target="erp") == 1


def test_module_level_conflict_fails_at_declaration() -> None:
    set_default_registry(MetricsRegistry(SETTINGS))
    counter("crm_dupe_total", "Dupe")
    with pytest.raises(ValueError, match="already declared"):
        gauge("crm_dupe", "Dupe")


def test_redeclaring_module_level_metrics_reuses_the_proxy() -> None:
    m = MetricsRegistry(SETTINGS)
    set_default_registry(m)
    before = len(default_module._proxies)
    for i in range(50):  # e.g. declared inside a request handler
        counter("crm_calls_total", "Calls").inc()
        gauge("crm_level", "Level", callback=lambda i=i: float(i))
    assert len(default_module._proxies) == before + 2
    assert sample(m, "crm_calls_total") == 50
    assert sample(m, "crm_level") == 49  # the last callback wins
