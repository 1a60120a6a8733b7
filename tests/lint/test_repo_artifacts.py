"""The committed rules and dashboards query only what the services really export.

The catalog comes from a real scrape (``GET /metrics`` over ASGI) of the four
reference services, so a renamed metric fails here, not in production.
"""

from __future__ import annotations

import asyncio
import importlib
import io
from pathlib import Path

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_observability import conventions as c
from crm_observability.lint import Catalog, LintConfig, catalog_from_exposition, lint_paths
from crm_observability.settings import Settings
from reference_services.common.config import DEFAULT_PORTS, ServiceConfig

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = [ROOT / "alerts", ROOT / "slo", ROOT / "dashboards"]
REDIS_URL = "redis://127.0.0.1:6379/15"  # the cache metric exists only with a cache


async def _scrape(service: str, tmp_path: Path) -> Catalog:
    module = importlib.import_module(f"reference_services.{service}.app")
    settings = Settings.for_profile("development", service_name=f"{service}-service",
                                    log_format="json", log_level="WARNING")
    config = ServiceConfig(service=service, database_url=f"sqlite:///{tmp_path}/{service}.db",
                           redis_url=REDIS_URL)
    app = module.create_app(settings, config=config, exporter=InMemorySpanExporter(),
                            log_stream=io.StringIO())
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            response = await client.get(c.METRICS_PATH)
        assert response.status_code == 200
        return catalog_from_exposition(response.text, f"{service}{c.METRICS_PATH}")
    finally:
        app.state.service.engine.dispose()


def test_artifacts_lint_clean_against_the_services_real_metrics(tmp_path: Path) -> None:
    catalog = Catalog()
    for service in DEFAULT_PORTS:
        catalog = catalog.merged(asyncio.run(_scrape(service, tmp_path)))
    assert c.HTTP_SERVER_DURATION + "_bucket" in catalog
    result = lint_paths(ARTIFACTS, LintConfig(catalog=catalog))
    assert result.files, "no generated artifacts found"
    assert [f"{f.file}:{f.line}: {f.rule_id}: {f.message}" for f in result.findings] == []
