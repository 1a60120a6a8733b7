"""Exactly one server span per request, although FastAPI brings its own OpenTelemetry hooks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.middleware.opentelemetry import OpenTelemetryMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from crm_observability.tracing import configure_tracing, disable_framework_tracing, extract_context
from tests.tracing.conftest import Pipeline, make_settings
from tests.tracing.otlp_receiver import OtlpReceiver


def tenant_dep() -> str:
    return "acme"


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/contacts/{contact_id}")
    def get_contact(contact_id: int, tenant: str = Depends(tenant_dep)) -> dict[str, Any]:
        return {"id": contact_id, "tenant": tenant}

    return app


def with_server_span(app: Any, pipeline: Pipeline) -> Any:
    """One SERVER span around the ASGI call, as instrument()'s middleware makes it."""
    tracer = pipeline.runtime.tracer

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        ctx, _ = extract_context(scope["headers"])
        with tracer.start_as_current_span(scope["method"], context=ctx, kind=SpanKind.SERVER):
            await app(scope, receive, send)

    return wrapped


def call(app: Any, *paths: str) -> list[int]:
    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as client:
            return [(await client.get(p)).status_code for p in paths]

    return asyncio.run(run())


def test_without_the_fix_fastapi_adds_its_own_spans(pipeline: Pipeline) -> None:
    # Guards the premise: if a FastAPI release stops doing this, this test says so.
    assert call(with_server_span(make_app(), pipeline), "/contacts/1") == [200]
    spans = pipeline.spans()
    assert len(spans) > 1
    assert sum(s.kind is SpanKind.SERVER for s in spans) == 2
    assert {"fastapi.endpoint", "fastapi.dependencies"} <= {s.name for s in spans}


def test_with_the_fix_each_request_has_exactly_one_span(pipeline: Pipeline) -> None:
    app = make_app()
    disable_framework_tracing(app)
    assert call(with_server_span(app, pipeline), "/contacts/1", "/contacts/2", "/nope") == [
        200, 200, 404,
    ]
    spans = pipeline.spans()
    assert [(s.name, s.kind) for s in spans] == [("GET", SpanKind.SERVER)] * 3
    assert len({s.context.trace_id for s in spans}) == 3


def test_mounted_fastapi_sub_apps_are_switched_off_too(pipeline: Pipeline) -> None:
    app, v2 = make_app(), make_app()
    app.mount("/v2", v2)
    disable_framework_tracing(app)
    assert call(with_server_span(app, pipeline), "/v2/contacts/5") == [200]
    assert [s.kind for s in pipeline.spans()] == [SpanKind.SERVER]


def test_starlette_opentelemetry_middleware_is_removed(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(OpenTelemetryMiddleware)
    with caplog.at_level(logging.WARNING, logger="crm_observability.tracing"):
        disable_framework_tracing(app)
    assert "removed OpenTelemetryMiddleware" in caplog.text
    assert call(with_server_span(app, pipeline), "/") == [200]
    assert len(pipeline.spans()) == 1


def test_a_started_app_keeps_its_middleware_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Starlette()
    app.add_middleware(OpenTelemetryMiddleware)
    app.middleware_stack = app.build_middleware_stack()
    with caplog.at_level(logging.WARNING, logger="crm_observability.tracing"):
        disable_framework_tracing(app)
    assert "already started" in caplog.text
    assert len(app.user_middleware) == 1


def test_unknown_objects_are_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    class Weird:
        @property
        def routes(self) -> list[Any]:
            raise RuntimeError("cannot list routes")

    disable_framework_tracing(object())
    disable_framework_tracing(None)
    with caplog.at_level(logging.WARNING, logger="crm_observability.tracing"):
        disable_framework_tracing(Weird())
    assert "could not inspect" in caplog.text


@pytest.fixture
def fastapi_autoconfigure(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
        yield receiver


@pytest.mark.parametrize("fixed", [False, True])
def test_fastapi_env_auto_configuration_adds_no_second_exporter(
    fastapi_autoconfigure: OtlpReceiver, fixed: bool
) -> None:
    runtime = configure_tracing(make_settings(), exporter=InMemorySpanExporter())
    try:
        app = make_app()
        if fixed:
            disable_framework_tracing(app)
        with TestClient(app) as client:  # lifespan: FastAPI configures, then flushes on exit
            assert client.get("/contacts/3").status_code == 200
        received = fastapi_autoconfigure.wait_for_requests(1, timeout=0.5 if fixed else 5)
        # FastAPI's own exporter sends to OTEL_EXPORTER_OTLP_ENDPOINT only without the fix.
        assert (received == 0) is fixed
    finally:
        runtime.shutdown()
