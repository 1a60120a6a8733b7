"""End to end: a real Prometheus scrapes a real uvicorn serving metrics_asgi_app.

Checks what only the real scraper can: it negotiates OpenMetrics, stores the
trace-id exemplar, and sees the common labels and values we exported.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from crm_observability import conventions as names
from crm_observability.metrics import MetricsRegistry, metrics_asgi_app
from tests.support import free_port as _free_port

from .conftest import require_tool

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
pytestmark = pytest.mark.slow



@pytest.fixture
def served(metrics: MetricsRegistry) -> Iterator[int]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(metrics_asgi_app(metrics), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def prometheus(served: int, tmp_path: Path) -> Iterator[str]:
    binary = require_tool("prometheus")
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: crm\n    static_configs: [{{targets: ['127.0.0.1:{served}']}}]\n"
    )
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--enable-feature=exemplar-storage"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _poll(url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            data = httpx.get(url, params=params, timeout=2).json()
        except (httpx.HTTPError, ValueError):  # not up yet ("Service Unavailable" is not JSON)
            data = {}
        if data.get("status") == "success":
            found = data["data"] if isinstance(data["data"], list) else data["data"]["result"]
            if found:
                return list(found)
        time.sleep(0.25)
    raise AssertionError(f"no data from {url} {params}")


def test_prometheus_scrapes_values_labels_and_exemplars(metrics: MetricsRegistry,
                                                         prometheus: str) -> None:
    http = metrics.http_server_metrics()
    http.observe("GET", "/api/contacts/{id}", 200, 0.042, trace_id=TRACE_ID)
    http.observe("GET", "/api/contacts/{id}", 200, 0.01)
    metrics.counter(names.CONTACTS_CREATED_TOTAL, "Contacts created").inc(3)

    query = f"{prometheus}/api/v1/query"
    [count] = _poll(query, {"query": f"{names.HTTP_SERVER_DURATION}_count"})
    assert count["value"][1] == "2"
    assert count["metric"][names.LABEL_HTTP_ROUTE] == "/api/contacts/{id}"
    assert count["metric"]["service"] == "contacts-service"
    [created] = _poll(query, {"query": names.CONTACTS_CREATED_TOTAL})
    assert created["value"][1] == "3"
    [up] = _poll(query, {"query": "up"})
    assert up["value"][1] == "1"

    now = time.time()
    series = _poll(f"{prometheus}/api/v1/query_exemplars", {
        "query": f"{names.HTTP_SERVER_DURATION}_bucket", "start": now - 120, "end": now + 60,
    })
    exemplars = [e for s in series for e in s["exemplars"]]
    assert {e["labels"]["trace_id"] for e in exemplars} == {TRACE_ID}
    assert {s["seriesLabels"]["le"] for s in series} == {"0.05"}
