"""HttpServerMetrics: OTel names and labels, method normalisation, bounded routes."""

from __future__ import annotations

import threading

import pytest

from crm_observability import conventions as names
from crm_observability.metrics import MetricsRegistry, normalize_method

from .conftest import sample, scrape

DURATION = names.HTTP_SERVER_DURATION
ACTIVE = names.HTTP_SERVER_ACTIVE


def test_active_requests_go_up_and_down(metrics: MetricsRegistry) -> None:
    http = metrics.http_server_metrics()
    http.request_started("GET")
    http.request_started("GET")
    http.request_started("PURGE")
    http.request_finished("GET")
    assert sample(metrics, ACTIVE, http_request_method="GET") == 1
    assert sample(metrics, ACTIVE, http_request_method="_OTHER") == 1
    assert sample(metrics, ACTIVE, http_request_method="POST") == 0


def test_active_requests_hold_under_threads_and_stray_finishes(
        metrics: MetricsRegistry) -> None:
    http = metrics.http_server_metrics()
    http.request_finished("DELETE")  # finished without a start: contained, stays at 0
    assert sample(metrics, ACTIVE, http_request_method="DELETE") == 0
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(5000):
            http.request_started("POST")
            http.request_finished("POST")
        http.request_started("POST")  # each thread leaves one in flight

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sample(metrics, ACTIVE, http_request_method="POST") == 8
    for _ in range(8):
        http.request_finished("POST")
    assert sample(metrics, ACTIVE, http_request_method="POST") == 0


def test_observe_labels_and_buckets(metrics: MetricsRegistry) -> None:
    http = metrics.http_server_metrics()
    http.observe("GET", "/api/contacts/{id}", 200, 0.004)
    http.observe("GET", "/api/contacts/{id}", 200, 0.2)
    http.observe("get", "/api/contacts/{id}", 404, 12.0)  # lower case is not a standard method
    http.observe("GET", "", 404, 0.001)
    labels = {"http_route": "/api/contacts/{id}", "http_request_method": "GET",
              "http_response_status_code": "200"}
    assert sample(metrics, f"{DURATION}_count", **labels) == 2
    assert sample(metrics, f"{DURATION}_bucket", le="0.005", **labels) == 1
    assert sample(metrics, f"{DURATION}_bucket", le="0.25", **labels) == 2
    assert sample(metrics, f"{DURATION}_sum", **labels) == pytest.approx(0.204)
    other = {"http_request_method": "_OTHER", "http_response_status_code": "404"}
    assert sample(metrics, f"{DURATION}_bucket", le="10.0", **other) == 0
    assert sample(metrics, f"{DURATION}_bucket", le="+Inf", **other) == 1
    assert sample(metrics, f"{DURATION}_count", http_route=names.UNMATCHED_ROUTE) == 1


def test_buckets_follow_settings() -> None:
    from crm_observability.settings import Settings

    m = MetricsRegistry(Settings(service_name="s", http_buckets=(0.1, 1.0)))
    m.http_server_metrics().observe("GET", "/", 200, 0.5)
    les = [lbl["le"] for n, lbl, _ in scrape(m)[DURATION] if n.endswith("_bucket")]
    assert les == ["0.1", "1.0", "+Inf"]


def test_routes_past_the_cap_fold(metrics: MetricsRegistry) -> None:
    http = metrics.http_server_metrics()
    for i in range(40):  # e.g. a raw path leaking in as a "route"; limit is 5
        http.observe("GET", f"/raw/{i}", 200, 0.01)
    routes = {lbl["http_route"] for n, lbl, _ in scrape(metrics)[DURATION]}
    assert len(routes) == 6 and names.OVERFLOW_LABEL_VALUE in routes
    assert sample(metrics, names.SERIES_OVERFLOW_TOTAL, metric=DURATION) == 35
    assert len(http._children) <= 4 * 5  # the per-request cache is bounded too


def test_normalize_method() -> None:
    assert normalize_method("PATCH") == "PATCH"
    assert normalize_method("patch") == names.OTHER_METHOD
    assert normalize_method("BREW") == names.OTHER_METHOD


def _exemplars(metrics: MetricsRegistry) -> dict[str, str]:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    from crm_observability.metrics import render_exposition

    body, _ = render_exposition(metrics.registry, "application/openmetrics-text")
    return {
        s.labels["le"]: s.exemplar.labels["trace_id"]
        for f in text_string_to_metric_families(body.decode()) if f.name == DURATION
        for s in f.samples if s.exemplar is not None
    }


def test_one_exemplar_per_bucket_per_interval(metrics: MetricsRegistry,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    http = metrics.http_server_metrics()
    http.observe("GET", "/a", 200, 0.004, trace_id="a" * 32)
    http.observe("GET", "/a", 200, 0.003, trace_id="b" * 32)  # same bucket, same second
    http.observe("GET", "/a", 200, 0.2, trace_id="c" * 32)  # another bucket
    http.observe("GET", "/a", 200, 60.0, trace_id="d" * 32)  # +Inf
    assert _exemplars(metrics) == {"0.005": "a" * 32, "0.25": "c" * 32, "+Inf": "d" * 32}
    assert sample(metrics, f"{DURATION}_count", http_route="/a") == 4  # all observed
    monkeypatch.setattr("crm_observability.metrics.http.EXEMPLAR_INTERVAL_S", 0.0)
    http.observe("GET", "/a", 200, 0.003, trace_id="e" * 32)
    assert _exemplars(metrics)["0.005"] == "e" * 32


def test_bad_duration_with_trace_id_is_reported(metrics: MetricsRegistry) -> None:
    from crm_observability import errors

    metrics.http_server_metrics().observe("GET", "/a", 200, "slow", trace_id="a" * 32)  # type: ignore[arg-type]
    assert errors.failure_counts()["metrics"] == 1


def test_an_int_trace_id_is_written_as_hex_when_an_exemplar_is_taken(
        metrics: MetricsRegistry) -> None:
    http = metrics.http_server_metrics()
    http.observe("GET", "/a", 200, 0.004, trace_id=0xABC)
    http.observe("GET", "/a", 200, 0.003, trace_id=0xDEF)  # same bucket: no exemplar
    assert _exemplars(metrics) == {"0.005": f"{0xABC:032x}"}


def test_the_fast_observation_counts_as_histogram_observe_does() -> None:
    """Without an exemplar the sum and bucket values are updated directly: same result."""
    from prometheus_client import CollectorRegistry, Histogram

    from crm_observability.settings import Settings

    buckets = (0.005, 0.01, 0.1, 1.0)
    metrics = MetricsRegistry(Settings(service_name="s", http_buckets=buckets))
    http = metrics.http_server_metrics()
    stock = Histogram("stock", "", buckets=buckets, registry=CollectorRegistry())
    values = [0.0, 0.005, 0.0050001, 0.01, 0.05, 0.1, 1.0, 1.5, 1e9, float("inf"),
              -0.5, float("nan"), 0.003, 0.1]
    for value in values:
        http.observe("GET", "/r", 200, value)
        stock.observe(value)
    assert http._children[("GET", "/r", 200)][2] is not None  # the fast path was taken
    ours = {lbl.get("le", n): v for n, lbl, v in scrape(metrics)[DURATION]}
    theirs = {s.labels.get("le", s.name.replace("stock", DURATION)): s.value
              for s in stock.collect()[0].samples if not s.name.endswith("_created")}
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, nan_ok=True), key
