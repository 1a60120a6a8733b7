"""/metrics: negotiation, exemplars only in OpenMetrics, promtool, the ASGI app."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.metrics import MetricsRegistry, metrics_asgi_app, render_exposition

from .conftest import require_tool

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _populated(metrics: MetricsRegistry) -> MetricsRegistry:
    http = metrics.http_server_metrics()
    http.request_started("GET")
    http.observe("GET", "/api/contacts/{id}", 200, 0.042, trace_id=TRACE_ID)
    http.observe("POST", "/api/contacts", 201, 0.3)
    metrics.counter(names.CONTACTS_CREATED_TOTAL, "Contacts created", (names.LABEL_TYPE,)) \
        .labels(type="business").inc()
    metrics.gauge(names.USERS_ACTIVE, "Active users", callback=lambda: 2)
    metrics.timer(names.CONTACTS_SEARCH_DURATION, "Search").observe(0.1)
    return metrics


def _bucket_exemplars(body: str) -> list[dict[str, str]]:
    return [
        dict(s.exemplar.labels)
        for family in openmetrics_families(body)
        for s in family.samples
        if s.exemplar is not None
    ]


def test_text_format_by_default_without_exemplars(metrics: MetricsRegistry) -> None:
    body, content_type = render_exposition(_populated(metrics).registry, None)
    assert content_type.startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert "# {" not in text  # exemplar syntax appears only in OpenMetrics
    families = {f.name: f for f in text_string_to_metric_families(text)}
    duration = families[names.HTTP_SERVER_DURATION]
    count = next(s for s in duration.samples if s.name.endswith("_count")
                 and s.labels[names.LABEL_HTTP_ROUTE] == "/api/contacts/{id}")
    assert count.value == 1
    assert count.labels[names.LABEL_HTTP_METHOD] == "GET"
    assert count.labels[names.LABEL_HTTP_STATUS] == "200"


def test_openmetrics_when_asked_carries_the_trace_id_exemplar(metrics: MetricsRegistry) -> None:
    body, content_type = render_exposition(_populated(metrics).registry,
                                           f"{OPENMETRICS},text/plain;q=0.5")
    assert content_type.startswith("application/openmetrics-text")
    assert _bucket_exemplars(body.decode()) == [{"trace_id": TRACE_ID}]
    families = {f.name: f for f in openmetrics_families(body.decode())}
    bucket = next(s for s in families[names.HTTP_SERVER_DURATION].samples
                  if s.exemplar is not None)
    assert bucket.labels["le"] == "0.05"  # the bucket the 42 ms observation fell into
    assert bucket.exemplar.value == pytest.approx(0.042)


def test_promtool_accepts_the_exposition(metrics: MetricsRegistry) -> None:
    promtool = require_tool("promtool")
    _populated(metrics)
    metrics.counter("crm_overflowing_total", "Overflowing", ("k",))
    for i in range(10):
        metrics.counter("crm_overflowing_total", "Overflowing", ("k",)).labels(k=i).inc()
    body, _ = render_exposition(metrics.registry, None)
    proc = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                          timeout=30, check=False)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_a_raising_collector_does_not_break_the_scrape(metrics: MetricsRegistry) -> None:
    class Broken:
        def collect(self) -> list[object]:
            raise RuntimeError("collector bug")

    metrics.counter("crm_things_total", "Things").inc()
    metrics.registry.register(Broken())  # type: ignore[arg-type]
    body, _ = render_exposition(metrics.registry, None)
    names_seen = {f.name for f in text_string_to_metric_families(body.decode())}
    assert "crm_things" in names_seen
    assert errors.failure_counts()["metrics"] >= 1


def test_asgi_app_serves_get_and_head_only(metrics: MetricsRegistry) -> None:
    asyncio.run(_exercise_asgi_app(metrics))


async def _exercise_asgi_app(metrics: MetricsRegistry) -> None:
    app = metrics_asgi_app(_populated(metrics))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        identity = {"accept-encoding": "identity"}
        plain = await client.get("/metrics", headers=identity)
        assert plain.status_code == 200
        assert "content-encoding" not in plain.headers
        assert plain.headers["content-type"].startswith("text/plain")
        parsed = {f.name for f in text_string_to_metric_families(plain.text)}
        assert names.HTTP_SERVER_DURATION in parsed
        om = await client.get("/metrics", headers={"accept": OPENMETRICS})
        assert om.headers["content-type"].startswith("application/openmetrics-text")
        assert _bucket_exemplars(om.text) == [{"trace_id": TRACE_ID}]
        head = await client.head("/metrics", headers=identity)
        assert head.status_code == 200 and head.content == b""
        # process/gc figures move between scrapes, so the size is close, not equal
        assert abs(int(head.headers["content-length"]) - len(plain.content)) < 200
        post = await client.post("/metrics")
        assert post.status_code == 405
        assert post.headers["allow"] == "GET, HEAD"
        # httpx decodes gzip transparently: check header and payload
        zipped = await client.get("/metrics", headers={"accept-encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert names.HTTP_SERVER_DURATION in zipped.text


def test_asgi_app_ignores_lifespan(metrics: MetricsRegistry) -> None:
    app = metrics_asgi_app(metrics)
    sent: list[object] = []

    async def receive() -> dict[str, str]:
        return {"type": "lifespan.startup"}

    async def send(message: object) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == []



def test_missing_multiprocess_directory_falls_back(metrics: MetricsRegistry,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    metrics.counter("crm_things_total", "Things").inc()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "gone"))
    body, _ = render_exposition(metrics.registry, None)
    assert "crm_things_total" in body.decode()
    assert errors.failure_counts()["metrics"] == 1


def test_unwritable_sample_gives_an_empty_exposition(metrics: MetricsRegistry) -> None:
    from prometheus_client.metrics_core import Metric

    class Garbage:
        def collect(self) -> list[Metric]:
            metric = Metric("crm_bad", "Bad", "gauge")
            metric.add_sample("crm_bad", {"k": "v"}, "not a number")  # type: ignore[arg-type]
            return [metric]

    metrics.registry.register(Garbage())  # type: ignore[arg-type]
    body, content_type = render_exposition(metrics.registry, None)
    assert body == b"" and content_type.startswith("text/plain")
    assert errors.failure_counts()["metrics"] == 2
