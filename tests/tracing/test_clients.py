"""requests and httpx: CLIENT spans and propagation across real loopback hops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import requests
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from crm_observability import conventions as names
from crm_observability.context import bind_context
from crm_observability.tracing import (
    instrument_httpx,
    instrument_requests,
    uninstrument_httpx,
    uninstrument_requests,
)
from tests.support import uvicorn_server as serve
from tests.tracing.conftest import Pipeline
from tests.tracing.hop_server import make_hop_app
from tests.tracing.otlp_receiver import free_port


@pytest.fixture
def hop(pipeline: Pipeline) -> Iterator[str]:
    instrument_requests()
    instrument_httpx()
    try:
        with serve(make_hop_app(pipeline.runtime.tracer)) as base:
            yield base
    finally:
        uninstrument_requests()
        uninstrument_httpx()


def _parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, span.name
    (parent,) = [s for s in spans if s.context.span_id == span.parent.span_id]
    return parent


def test_one_trace_across_two_hops_with_requests_then_httpx(pipeline: Pipeline, hop: str) -> None:
    with bind_context(tenant_id="acme"), pipeline.runtime.tracer.start_as_current_span("caller"):
        response = requests.get(f"{hop}/forward", timeout=5)
    assert response.status_code == 200
    leaf_saw = response.json()
    assert leaf_saw["tenant"] == "acme"  # baggage survived two hops
    assert "tenant_id=acme" in leaf_saw["baggage"]

    spans = pipeline.spans()
    assert len({s.context.trace_id for s in spans}) == 1
    leaf = next(s for s in spans if s.name == "GET /leaf")
    chain = [leaf]
    while chain[-1].parent is not None:
        chain.append(_parent_of(chain[-1], spans))
    assert [(s.name, s.kind) for s in reversed(chain)] == [
        ("caller", SpanKind.INTERNAL),
        ("GET", SpanKind.CLIENT),  # requests
        ("GET /forward", SpanKind.SERVER),
        ("GET", SpanKind.CLIENT),  # httpx.AsyncClient inside the service
        ("GET /leaf", SpanKind.SERVER),
    ]
    # The leaf received exactly the httpx client span as its parent.
    assert leaf_saw["traceparent"].split("-")[2] == f"{chain[1].context.span_id:016x}"
    # Client spans carry the tenant from the bound context, like every span.
    for span in (chain[1], chain[3]):
        assert (span.attributes or {})[names.ATTR_TENANT_ID] == "acme"


def test_sync_httpx_client_span_attributes(pipeline: Pipeline, hop: str) -> None:
    port = int(hop.rsplit(":", 1)[1])
    with httpx.Client() as client:
        body = client.get(f"http://user:secret@127.0.0.1:{port}/leaf?email=ann@example.com").json()
    assert body["traceparent"] is not None and body["tenant"] is None
    client_span = next(s for s in pipeline.spans() if s.kind is SpanKind.CLIENT)
    assert dict(client_span.attributes or {}) == {
        names.ATTR_HTTP_REQUEST_METHOD: "GET",
        # No credentials, no query string (e-mail addresses live there).
        names.ATTR_URL_FULL: f"http://127.0.0.1:{port}/leaf",
        names.ATTR_SERVER_ADDRESS: "127.0.0.1",
        names.ATTR_SERVER_PORT: port,
        names.ATTR_HTTP_RESPONSE_STATUS_CODE: 200,
    }
    assert client_span.status.status_code is StatusCode.UNSET


def test_client_4xx_is_an_error_span(pipeline: Pipeline, hop: str) -> None:
    assert requests.post(f"{hop}/status/404", timeout=5).status_code == 404
    client_span = next(s for s in pipeline.spans() if s.kind is SpanKind.CLIENT)
    assert client_span.name == "POST"
    assert client_span.status.status_code is StatusCode.ERROR
    assert (client_span.attributes or {})[names.ATTR_ERROR_TYPE] == "404"


def test_connection_refused_is_recorded_and_reraised(pipeline: Pipeline, hop: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}/x"
    with pytest.raises(requests.ConnectionError):
        requests.get(closed, timeout=2)
    with pytest.raises(httpx.ConnectError):
        asyncio.run(_async_get(closed))
    failed = [s for s in pipeline.spans() if s.kind is SpanKind.CLIENT]
    assert [s.status.status_code for s in failed] == [StatusCode.ERROR, StatusCode.ERROR]
    assert [(s.attributes or {})[names.ATTR_ERROR_TYPE] for s in failed] == [
        "ConnectionError", "ConnectError",
    ]


async def _async_get(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url)


def test_instrumenting_twice_makes_one_span(pipeline: Pipeline, hop: str) -> None:
    instrument_requests()
    instrument_httpx()
    requests.get(f"{hop}/leaf", timeout=5)
    assert len([s for s in pipeline.spans() if s.kind is SpanKind.CLIENT]) == 1


def test_uninstrumented_clients_send_no_trace_headers(pipeline: Pipeline, hop: str) -> None:
    uninstrument_requests()
    uninstrument_httpx()
    with pipeline.runtime.tracer.start_as_current_span("caller"):
        via_requests = requests.get(f"{hop}/leaf", timeout=5).json()
        with httpx.Client() as client:
            via_httpx = json.loads(client.get(f"{hop}/leaf").content)
    assert via_requests["traceparent"] is None and via_httpx["traceparent"] is None
    assert not [s for s in pipeline.spans() if s.kind is SpanKind.CLIENT]


def test_ipv6_target_is_described_with_brackets(pipeline: Pipeline, hop: str) -> None:
    port = free_port()
    with pytest.raises(httpx.ConnectError), httpx.Client() as client:
        client.get(f"http://[::1]:{port}/x")
    (span,) = [s for s in pipeline.spans() if s.kind is SpanKind.CLIENT]
    attrs = span.attributes or {}
    assert attrs[names.ATTR_URL_FULL] == f"http://[::1]:{port}/x"
    assert attrs[names.ATTR_SERVER_ADDRESS] == "::1"


def test_suppressed_instrumentation_makes_no_span(pipeline: Pipeline, hop: str) -> None:
    # The SDK's exporters run under this key; so can any caller that wants silence.
    token = otel_context.attach(
        otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True)
    )
    try:
        assert requests.get(f"{hop}/leaf", timeout=5).json()["traceparent"] is None
        assert asyncio.run(_async_get(f"{hop}/leaf")).json()["traceparent"] is None
    finally:
        otel_context.detach(token)
    assert not [s for s in pipeline.spans() if s.kind is SpanKind.CLIENT]
