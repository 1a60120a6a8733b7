"""The middleware's own server span (tracing.server_span), through real requests."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from crm_observability import Settings, errors, instrument, traced
from crm_observability.instrumentation import Instrumentation
from crm_observability.tracing.server_span import ServerSpan

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


class Named:
    def __str__(self) -> str:
        return "named"


def make_app() -> FastAPI:
    app = FastAPI()

    @traced("child-work")
    def child() -> int:
        return 1

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, Any]:
        span = trace.get_current_span()
        span.set_attribute("item.id", item_id)
        span.set_attributes({"obj": Named(), "nums": [1, 2], "none": None})  # type: ignore[dict-item]
        span.add_event("looked-up", {"hit": True})
        span.set_status(Status(StatusCode.OK))
        span.set_status(StatusCode.ERROR, "ignored: OK is final")
        return {"child": child(), "recording": span.is_recording(), "type": type(span).__name__}

    @app.get("/fails")
    async def fails() -> None:
        raise ValueError("bad input")

    return app


class Harness:
    def __init__(self, **overrides: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.app = make_app()
        settings = Settings.for_profile("development", service_name="server-span",
                                        **overrides)
        self.obs: Instrumentation = instrument(self.app, settings, exporter=self.exporter,
                                               log_stream=io.StringIO())

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.get(path, headers=headers)

        return asyncio.run(call())

    def spans(self) -> list[ReadableSpan]:
        assert self.obs.tracing.force_flush(5)
        return list(self.exporter.get_finished_spans())

    def server_span(self) -> ReadableSpan:
        servers = [s for s in self.spans() if s.kind is SpanKind.SERVER]
        assert len(servers) == 1, servers
        return servers[0]


@pytest.fixture
def harness() -> Iterator[Harness]:
    errors.reset_for_tests()
    h = Harness()
    yield h
    h.obs.tracing.shutdown()
    errors.reset_for_tests()


def test_server_span_records_what_the_app_sets_and_parents_child_spans(
        harness: Harness) -> None:
    response = harness.get("/items/7")
    assert response.status_code == 200
    assert response.json() == {"child": 1, "recording": True, "type": "ServerSpan"}
    spans = harness.spans()
    server = next(s for s in spans if s.kind is SpanKind.SERVER)
    child = next(s for s in spans if s.name == "child-work")
    assert isinstance(server, ServerSpan)
    assert server.name == "GET /items/{item_id}"
    assert dict(server.attributes or {}) == {
        "http.request.method": "GET", "url.path": "/items/7", "url.scheme": "http",
        "item.id": 7, "obj": "named", "nums": (1, 2),
        "http.route": "/items/{item_id}", "http.response.status_code": 200,
    }
    assert [(e.name, dict(e.attributes or {})) for e in server.events] == [
        ("looked-up", {"hit": True})]
    assert server.status.status_code is StatusCode.OK
    assert server.parent is None
    assert child.parent is not None and server.context is not None
    assert child.parent.span_id == server.context.span_id
    assert child.context is not None and child.context.trace_id == server.context.trace_id
    assert server.resource.attributes["service.name"] == "server-span"
    assert server.instrumentation_scope is not None
    assert server.start_time is not None and server.end_time is not None
    assert server.start_time <= server.end_time
    # The generated request id is the trace id.
    assert response.headers["x-request-id"] == format(server.context.trace_id, "032x")


def test_an_unhandled_exception_is_an_exception_event_and_error_status(
        harness: Harness) -> None:
    assert harness.get("/fails").status_code == 500
    server = harness.server_span()
    assert server.status.status_code is StatusCode.ERROR
    (event,) = server.events
    attrs = dict(event.attributes or {})
    assert event.name == "exception"
    assert attrs["exception.type"] == "ValueError"
    assert attrs["exception.message"] == "bad input"
    assert "Traceback" in str(attrs["exception.stacktrace"])
    assert dict(server.attributes or {})["http.response.status_code"] == 500


def test_a_sampled_remote_parent_is_continued_with_its_trace_state(harness: Harness) -> None:
    harness.get("/items/1", headers={
        "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "tracestate": "vendor=abc"})
    server = harness.server_span()
    assert server.context is not None and server.parent is not None
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert format(server.parent.span_id, "016x") == PARENT_ID
    assert server.parent.is_remote
    assert server.context.trace_state.get("vendor") == "abc"


def test_an_unsampled_remote_parent_records_nothing_but_keeps_the_trace_id(
        harness: Harness) -> None:
    response = harness.get("/items/1", headers={
        "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"})
    assert response.json()["recording"] is False
    assert harness.spans() == []


def test_an_added_processor_gets_sdk_server_spans_with_on_start(harness: Harness) -> None:
    started: list[str] = []

    class Recorder(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            started.append(span.name)

    assert harness.obs.tracing.provider is not None
    harness.obs.tracing.provider.add_span_processor(Recorder())
    assert harness.get("/items/3").json()["type"] != "ServerSpan"
    server = harness.server_span()
    assert not isinstance(server, ServerSpan)
    assert server.name == "GET /items/{item_id}"
    assert dict(server.attributes or {})["http.route"] == "/items/{item_id}"
    assert started == ["GET", "child-work"]


def test_span_limits_from_the_environment_bound_attributes_and_events(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "4")
    monkeypatch.setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "0")
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3")
    h = Harness(service_version="limits")  # distinct settings: a pipeline of its own
    try:
        h.get("/items/123456")
        server = h.server_span()
        attrs = dict(server.attributes or {})
        # The middleware's own attributes always land; the app's stop at the limit.
        assert attrs["http.route"] == "/items/{item_id}"
        assert attrs["item.id"] == 123456
        assert "nums" not in attrs
        assert server.dropped_attributes == 2
        assert server.events == () and server.dropped_events == 1
    finally:
        h.obs.tracing.shutdown()


def test_after_end_the_span_ignores_changes() -> None:
    h = Harness(service_version="ended")
    try:
        factory = h.obs.tracing.server_spans
        assert factory is not None
        context = trace.SpanContext(1, 2, False, trace.TraceFlags(1))
        span = factory.start("op", context, None, {"a": 1})
        span.end()
        first_end = span.end_time
        span.set_attribute("b", 2)
        span.add_event("late")
        span.add_link(trace.SpanContext(3, 4, False))
        span.update_name("renamed")
        span.set_status(StatusCode.ERROR)
        span.end()
        assert (span.name, dict(span.attributes or {}), span.events, span.links) == (
            "op", {"a": 1}, (), ())
        assert span.status.status_code is StatusCode.UNSET
        assert span.end_time == first_end and not span.is_recording()
        assert [s.name for s in h.spans()] == ["op"]  # exported once
    finally:
        h.obs.tracing.shutdown()


def test_a_failing_batch_processor_is_reported_not_raised() -> None:
    h = Harness(service_version="failing")
    try:
        factory = h.obs.tracing.server_spans
        assert factory is not None

        def explode(span: ReadableSpan) -> None:
            raise RuntimeError("queue broke")

        factory.on_end = explode
        assert h.get("/items/1").status_code == 200
        assert errors.failure_counts()["tracing"] >= 1
    finally:
        h.obs.tracing.shutdown()


def test_the_fast_encoder_writes_server_spans_as_the_stock_encoder_does(
        harness: Harness) -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import (
        encode_spans as stock_encode,
    )
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from crm_observability.tracing.encoding import encode_spans

    harness.get("/items/5", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    harness.get("/fails")
    spans = harness.spans()
    assert sum(isinstance(s, ServerSpan) for s in spans) == 2
    fast = ExportTraceServiceRequest.FromString(encode_spans(spans))
    assert fast == stock_encode(spans)
    assert len(fast.resource_spans[0].scope_spans[0].spans) >= 2


def test_a_server_span_the_app_ends_early_is_exported_once_as_it_was() -> None:
    app = FastAPI()

    @app.get("/early")
    async def early() -> dict[str, str]:
        trace.get_current_span().end()  # e.g. a use_span(..., end_on_exit=True) misuse
        return {"ok": "yes"}

    exporter = InMemorySpanExporter()
    obs = instrument(app, Settings.for_profile("development", service_name="early-end"),
                     exporter=exporter, log_stream=io.StringIO())

    async def call() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/early")).status_code

    try:
        assert asyncio.run(call()) == 200
        assert obs.tracing.force_flush(5)
        (span,) = exporter.get_finished_spans()
        assert span.name == "GET"  # renamed only while recording
        assert "http.route" not in (span.attributes or {})
    finally:
        obs.tracing.shutdown()


def _sampled_ids(harness: Harness, n: int, headers: dict[str, str] | None = None
                 ) -> tuple[set[str], set[str]]:
    """Request ids answered, and the trace ids of the server spans exported, for n requests."""
    answered = {harness.get("/items/1", headers=headers).headers["x-request-id"]
                for _ in range(n)}
    exported = {format(s.context.trace_id, "032x") for s in harness.spans()
                if s.kind is SpanKind.SERVER and s.context is not None}
    return answered, exported


@pytest.mark.parametrize("headers", [None, {"baggage": "tenant_id=acme"}],
                         ids=["no-context", "baggage-only"])
def test_roots_are_sampled_at_the_ratio_and_every_request_id_is_its_trace_id(
        headers: dict[str, str] | None) -> None:
    # A baggage header with no traceparent is a root too: sampled at the ratio, not kept.
    h = Harness(trace_sample_ratio=0.25)
    try:
        answered, exported = _sampled_ids(h, 400, headers)
        assert len(answered) == 400
        assert exported <= answered  # each exported span's trace id is a request's id
        # Binomial(400, 0.25): mean 100, sd 8.7; 55..145 is more than five sd either side.
        assert 55 <= len(exported) <= 145
        # The unsampled requests' ids are trace ids as well: a random draw, not a constant.
        assert all(len(rid) == 32 and int(rid, 16) for rid in answered - exported)
    finally:
        h.obs.tracing.shutdown()


@pytest.mark.parametrize(("ratio", "expected"), [(0.0, 0), (1.0, 20)])
def test_ratio_bounds_decide_alone(ratio: float, expected: int) -> None:
    h = Harness(trace_sample_ratio=ratio)
    try:
        _, exported = _sampled_ids(h, 20, {"baggage": "tenant_id=acme"})
        assert len(exported) == expected
    finally:
        h.obs.tracing.shutdown()
