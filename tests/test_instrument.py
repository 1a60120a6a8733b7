"""instrument(app) end to end: real HTTP into a FastAPI app, parsed logs, exposition and spans."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from crm_observability import Settings, bind_context, get_context, get_logger, instrument
from crm_observability import conventions as names
from crm_observability.instrumentation import Instrumentation
from crm_observability.tracing import uninstrument_httpx


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "ctx": get_context()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(status_code=404, detail="nope")

    @app.get("/slow-background")
    async def slow_background(tasks: BackgroundTasks) -> dict[str, str]:
        tasks.add_task(asyncio.sleep, 0.3)
        return {"ok": "yes"}

    @app.get("/sync")
    def sync_endpoint() -> dict[str, Any]:
        with bind_context(operation="sync_op"):
            return get_context()

    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def get_thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    app.include_router(router, prefix="/api/v1")
    nested = APIRouter(prefix="/inner")

    @nested.get("/x/{y}")
    async def get_y(y: int) -> dict[str, int]:
        return {"y": y}

    outer = APIRouter(prefix="/outer")
    outer.include_router(nested)
    app.include_router(outer)

    sub = Starlette(routes=[Route("/leaf/{x}", lambda r: PlainTextResponse("leaf"))])
    app.mount("/sub", sub)
    return app


class Harness:
    def __init__(self, app: FastAPI, obs: Instrumentation, exporter: InMemorySpanExporter,
                 logs: io.StringIO) -> None:
        self.app, self.obs, self.exporter, self.logs = app, obs, exporter, logs
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                        base_url="http://testserver")

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return asyncio.run(self._get(path, **kw))

    async def _get(self, path: str, **kw: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, **kw)

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line.strip()]

    def samples(self, name: str) -> list[Any]:
        self.obs.flush()
        body = self.get(names.METRICS_PATH).text
        out = []
        for family in text_string_to_metric_families(body):
            out.extend(s for s in family.samples if s.name == name)
        return out

    def spans(self) -> list[Any]:
        self.obs.flush()
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def harness() -> Iterator[Harness]:
    # Other tests instrument httpx process-wide; its client spans would replace our traceparent.
    uninstrument_httpx()
    app = make_app()
    exporter = InMemorySpanExporter()
    logs = io.StringIO()
    settings = Settings.for_profile("testing", service_name="items-service",
                                    trace_sample_ratio=1.0, log_level="INFO")
    obs = instrument(app, settings, exporter=exporter, log_stream=logs)
    yield Harness(app, obs, exporter, logs)
    obs.tracing.shutdown()


def test_request_is_logged_measured_and_traced_once(harness: Harness) -> None:
    resp = harness.get("/items/42")
    assert resp.status_code == 200
    rid = resp.headers["x-request-id"]
    assert len(rid) == 32
    assert resp.json()["ctx"]["request_id"] == rid

    access = [r for r in harness.log_lines() if r["logger"] == names.ACCESS_LOGGER]
    assert len(access) == 1
    line = access[0]
    assert line["service"] == "items-service"
    assert line["environment"] == "testing"
    assert line["request_id"] == rid
    assert line[names.LOG_TRACE_ID] and len(line[names.LOG_TRACE_ID]) == 32

    counts = harness.samples(names.HTTP_SERVER_DURATION + "_count")
    mine = [s for s in counts if s.labels[names.LABEL_HTTP_ROUTE] == "/items/{item_id}"]
    assert len(mine) == 1
    assert mine[0].value == 1
    assert mine[0].labels[names.LABEL_HTTP_METHOD] == "GET"
    assert mine[0].labels[names.LABEL_HTTP_STATUS] == "200"
    assert mine[0].labels[names.LABEL_SERVICE] == "items-service"
    assert mine[0].labels[names.LABEL_APPLICATION] == names.DEFAULT_APPLICATION

    # The test client's own CLIENT spans may be there (httpx instrumented process-wide by
    # another test); everything else must be our one server span.
    spans = [s for s in harness.spans() if s.kind != SpanKind.CLIENT]
    server = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(spans) == 1 and len(server) == 1
    assert server[0].name == "GET /items/{item_id}"
    assert server[0].attributes["http.route"] == "/items/{item_id}"
    assert server[0].attributes["http.response.status_code"] == 200
    assert format(server[0].context.trace_id, "032x") == line[names.LOG_TRACE_ID]


def test_request_id_reused_when_valid_replaced_when_not(harness: Harness) -> None:
    assert harness.get("/items/1", headers={"X-Request-ID": "abc-123"}).headers[
        "x-request-id"] == "abc-123"
    # a caller's own id is kept on the span; a generated one is the trace id itself
    span = next(s for s in harness.spans() if s.kind == SpanKind.SERVER)
    assert span.attributes[names.ATTR_REQUEST_ID] == "abc-123"
    generated = harness.get("/items/2").headers["x-request-id"]
    span = [s for s in harness.spans() if s.kind == SpanKind.SERVER][-1]
    assert generated == format(span.context.trace_id, "032x")
    assert names.ATTR_REQUEST_ID not in span.attributes
    bad = harness.get("/items/1", headers={"X-Request-ID": "x" * 300})
    assert bad.headers["x-request-id"] != "x" * 300 and len(bad.headers["x-request-id"]) == 32
    evil = harness.get("/items/1", headers={"X-Request-ID": "a b\tc"})
    assert evil.headers["x-request-id"] != "a b\tc"


def test_untraced_requests_get_distinct_generated_ids() -> None:
    app = make_app()
    logs = io.StringIO()
    settings = Settings.for_profile("testing", service_name="items-service",
                                    tracing_enabled=False, log_level="INFO")
    obs = instrument(app, settings, log_stream=logs)
    harness = Harness(app, obs, InMemorySpanExporter(), logs)
    ids = [harness.get(f"/items/{i}").headers["x-request-id"] for i in range(20)]
    assert len(set(ids)) == 20
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)
    assert [line["request_id"] for line in harness.log_lines()
            if line.get(names.LOG_HTTP_ROUTE) == "/items/{item_id}"] == ids
    obs.tracing.shutdown()


def test_unhandled_exception_counts_as_500_and_marks_span(harness: Harness) -> None:
    resp = harness.get("/boom")
    assert resp.status_code == 500
    counts = harness.samples(names.HTTP_SERVER_DURATION + "_count")
    assert any(s.labels[names.LABEL_HTTP_ROUTE] == "/boom"
               and s.labels[names.LABEL_HTTP_STATUS] == "500" for s in counts)
    span = next(s for s in harness.spans() if s.name == "GET /boom")
    assert span.status.status_code == StatusCode.ERROR
    assert any(e.name == "exception" for e in span.events)


def test_unmatched_path_goes_into_one_bucket(harness: Harness) -> None:
    for i in range(5):
        assert harness.get(f"/no/such/{i}").status_code == 404
    routes = {s.labels[names.LABEL_HTTP_ROUTE]
              for s in harness.samples(names.HTTP_SERVER_DURATION + "_count")}
    assert routes == {names.UNMATCHED_ROUTE}
    # a 404 raised by a matched route keeps its template
    harness.get("/missing")
    routes = {s.labels[names.LABEL_HTTP_ROUTE]
              for s in harness.samples(names.HTTP_SERVER_DURATION + "_count")}
    assert "/missing" in routes


def test_mounted_sub_app_route_template(harness: Harness) -> None:
    assert harness.get("/sub/leaf/123").text == "leaf"
    routes = {s.labels[names.LABEL_HTTP_ROUTE]
              for s in harness.samples(names.HTTP_SERVER_DURATION + "_count")}
    assert "/sub/leaf/{x}" in routes


def test_included_router_prefixes_are_part_of_the_template(harness: Harness) -> None:
    assert harness.get("/api/v1/things/5").json() == {"id": 5}
    assert harness.get("/outer/inner/x/6").status_code == 200
    routes = {s.labels[names.LABEL_HTTP_ROUTE]
              for s in harness.samples(names.HTTP_SERVER_DURATION + "_count")}
    assert {"/api/v1/things/{thing_id}", "/outer/inner/x/{y}"} <= routes
    names_ = {s.name for s in harness.spans() if s.kind == SpanKind.SERVER}
    assert "GET /api/v1/things/{thing_id}" in names_


def test_health_and_metrics_are_not_traced_or_measured(harness: Harness) -> None:
    assert harness.get(names.LIVENESS_PATH).status_code == 200
    assert harness.get(names.READYZ_PATH).status_code == 200
    harness.get(names.METRICS_PATH)
    assert [s for s in harness.spans() if s.kind != SpanKind.CLIENT] == []
    assert harness.samples(names.HTTP_SERVER_DURATION + "_count") == []
    assert names.HEALTH_PATH not in harness.app.openapi()["paths"]


def test_latency_ends_before_background_tasks(harness: Harness) -> None:
    """The histogram, the server span and the access line all end at the last byte, though
    they are recorded when the app returns, after its 0.3 s background task."""
    started = time.monotonic()
    harness.get("/slow-background")
    assert time.monotonic() - started >= 0.3  # the task did run inside the request's call
    sums = [s for s in harness.samples(names.HTTP_SERVER_DURATION + "_sum")
            if s.labels[names.LABEL_HTTP_ROUTE] == "/slow-background"]
    assert sums and sums[0].value < 0.25
    (span,) = [s for s in harness.spans() if s.name == "GET /slow-background"]
    assert span.end_time is not None and span.start_time is not None
    assert (span.end_time - span.start_time) / 1e9 < 0.25
    (line,) = [x for x in harness.log_lines() if x.get("route") == "/slow-background"]
    assert line["duration_ms"] < 250


def test_traceparent_and_tenant_baggage_propagate_in(harness: Harness) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    resp = harness.get("/items/7", headers={
        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
        "baggage": "tenant_id=acme",
    })
    assert resp.json()["ctx"]["tenant_id"] == "acme"
    span = next(s for s in harness.spans() if s.kind == SpanKind.SERVER)
    assert format(span.context.trace_id, "032x") == trace_id
    assert format(span.parent.span_id, "016x") == "00f067aa0ba902b7"


def test_malformed_trace_headers_are_ignored(harness: Harness) -> None:
    resp = harness.get("/items/7", headers={"traceparent": "garbage", "baggage": "%%%;;==\x01"})
    assert resp.status_code == 200
    assert "tenant_id" not in resp.json()["ctx"]


def test_context_bound_by_a_handler_does_not_leak_into_the_next_request() -> None:
    from crm_observability.context import bind

    app = FastAPI()

    @app.get("/bind")
    async def do_bind() -> dict[str, Any]:
        bind(tenant_id="leaky", user_id="u1")
        return get_context()

    @app.get("/ctx")
    async def ctx() -> dict[str, Any]:
        return get_context()

    instrument(app, Settings.for_profile("testing"), exporter=InMemorySpanExporter(),
               log_stream=io.StringIO())

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        # One client, one task: both requests run in the same context.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            first = (await client.get("/bind")).json()
            second = (await client.get("/ctx")).json()
            return first, second

    first, second = asyncio.run(run())
    assert first["tenant_id"] == "leaky"
    assert "tenant_id" not in second and "user_id" not in second


def test_sync_endpoint_context_survives_threadpool(harness: Harness) -> None:
    body = harness.get("/sync").json()
    assert body["operation"] == "sync_op" and "request_id" in body


def test_instrument_is_idempotent_and_refuses_started_app(harness: Harness) -> None:
    assert instrument(harness.app) is harness.obs
    app = FastAPI()
    asyncio.run(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                  base_url="http://t").get("/"))
    with pytest.raises(RuntimeError, match="before the application starts"):
        instrument(app, Settings.for_profile("testing"))


def test_two_apps_have_independent_registries() -> None:
    a, b = FastAPI(), FastAPI()
    obs_a = instrument(a, Settings.for_profile("testing", service_name="a"),
                       exporter=InMemorySpanExporter(), log_stream=io.StringIO())
    obs_b = instrument(b, Settings.for_profile("testing", service_name="b"),
                       exporter=InMemorySpanExporter(), log_stream=io.StringIO())
    assert obs_a.registry is not obs_b.registry


def test_metrics_pass_promtool_check(harness: Harness) -> None:
    for path in ("/items/1", "/boom", "/nothing"):
        harness.get(path)
    body = harness.get(names.METRICS_PATH).content
    assert shutil.which("promtool"), "promtool missing: scripts/test installs Debian 'prometheus'"
    proc = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr.decode() + proc.stdout.decode()


def test_exemplars_only_with_openmetrics(harness: Harness) -> None:
    harness.get("/items/3")
    plain = harness.get(names.METRICS_PATH).text
    assert "trace_id" not in plain
    om = harness.get(names.METRICS_PATH,
                     headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    span = next(s for s in harness.spans() if s.kind == SpanKind.SERVER)
    assert f'trace_id="{format(span.context.trace_id, "032x")}"' in om.text


def test_log_lines_name_the_serving_app_when_apps_share_a_process() -> None:
    stream = io.StringIO()
    apps = []
    for name in ("alpha-service", "beta-service"):
        app = FastAPI()

        @app.get("/hello")
        async def hello() -> dict[str, str]:
            get_logger("app").info("inside the handler")
            return {}

        instrument(app, Settings.for_profile("testing", service_name=name),
                   exporter=InMemorySpanExporter(), log_stream=stream)
        apps.append(app)

    async def call(app: FastAPI) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            await client.get("/hello")

    for app in apps:
        asyncio.run(call(app))
    lines = [json.loads(x) for x in stream.getvalue().splitlines() if x.startswith("{")]
    handler_lines = [x["service"] for x in lines if x["message"] == "inside the handler"]
    assert handler_lines == ["alpha-service", "beta-service"]


def test_traced_spans_go_to_the_serving_apps_pipeline() -> None:
    from crm_observability import traced

    @traced("inner-work")
    async def work() -> int:
        return 1

    exporters, apps = {}, {}
    for name in ("first-service", "second-service"):
        app = FastAPI()

        @app.get("/w")
        async def endpoint() -> dict[str, int]:
            return {"v": await work()}

        exporters[name] = InMemorySpanExporter()
        instrument(app, Settings.for_profile("testing", service_name=name, trace_sample_ratio=1.0),
                   exporter=exporters[name], log_stream=io.StringIO())
        apps[name] = app

    async def call(app: FastAPI) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            assert (await client.get("/w")).status_code == 200

    for name, app in apps.items():
        asyncio.run(call(app))
        app.state.observability.flush()
        spans = [s for s in exporters[name].get_finished_spans() if s.kind != SpanKind.CLIENT]
        assert sorted(s.name for s in spans) == ["GET /w", "inner-work"]
        assert {s.resource.attributes["service.name"] for s in spans} == {name}


@pytest.mark.parametrize("freeze", [True, False])
def test_startup_objects_are_frozen_out_of_the_collector(freeze: bool) -> None:
    import gc

    gc.unfreeze()
    app = FastAPI()

    @app.get("/x")
    async def x() -> dict[str, str]:
        return {}

    instrument(app, Settings.for_profile("testing", gc_freeze=freeze),
               exporter=InMemorySpanExporter(), log_stream=io.StringIO())

    async def lifespan_then_request() -> None:
        messages = iter([{"type": "lifespan.startup"}])
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            try:
                return next(messages)
            except StopIteration:
                await asyncio.sleep(3600)  # the server would send lifespan.shutdown later
                raise AssertionError("unreachable") from None

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                       receive, send))
        for _ in range(100):
            if sent:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        assert sent[0]["type"] == "lifespan.startup.complete"

    try:
        asyncio.run(lifespan_then_request())
        assert (gc.get_freeze_count() > 0) is freeze
        ready = app.state.observability.health
        assert asyncio.run(ready.check_group("startup"))[0].name == "UP"
    finally:
        gc.unfreeze()


def test_each_request_starts_unbound_and_leaves_the_callers_context_as_it_was() -> None:
    from crm_observability.context import bind

    app = FastAPI()

    @app.get("/leaky")
    async def leaky() -> dict[str, Any]:
        seen = get_context()
        bind(user_id="u-leak", cart="c-1")  # bound and never unbound
        return seen

    instrument(app, Settings.for_profile("testing", service_name="ctx-service"),
               exporter=InMemorySpanExporter(), log_stream=io.StringIO())

    async def calls() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            seen = []
            # The first request runs where nothing is bound, the second where the caller
            # bound keys: neither sees anything but its own request id.
            seen.append((await client.get("/leaky")).json())
            with bind_context(tenant_id="outer-tenant", flow="outer"):
                seen.append((await client.get("/leaky")).json())
                inside = get_context()
            seen.append((await client.get("/leaky")).json())
            return seen, {"inside": inside, "after": get_context()}

    seen, caller = asyncio.run(calls())
    assert [sorted(s) for s in seen] == [["request_id"]] * 3
    assert caller == {"inside": {"tenant_id": "outer-tenant", "flow": "outer"}, "after": {}}


@pytest.mark.parametrize(("levels", "expected"), [
    ({}, [("/boom", 500, "ERROR")]),  # production: WARNING, so only the server error
    ({names.ACCESS_LOGGER: "INFO"}, [("/items/{item_id}", 200, "INFO"),
                                     ("/missing", 404, "INFO"), ("/boom", 500, "ERROR")]),
    ({names.ACCESS_LOGGER: "CRITICAL"}, []),
], ids=["production", "access-at-info", "access-off"])
def test_the_access_level_decides_which_requests_get_a_line(
        levels: dict[str, str], expected: list[tuple[str, int, str]]) -> None:
    app = make_app()
    logs = io.StringIO()
    obs = instrument(app, Settings.for_profile("production", service_name="items-service",
                                               logger_levels=levels, otlp_endpoint=None),
                     log_stream=logs)
    try:
        h = Harness(app, obs, InMemorySpanExporter(), logs)
        assert [h.get(p).status_code for p in ("/items/1", "/missing", "/boom")] == [
            200, 404, 500]
        access = [(r[names.LOG_HTTP_ROUTE], r[names.LOG_HTTP_STATUS], r["level"])
                  for r in h.log_lines() if r["logger"] == names.ACCESS_LOGGER]
        assert access == expected
    finally:
        obs.tracing.shutdown()


def test_a_span_that_fails_to_end_costs_the_request_nothing(harness: Harness) -> None:
    """Ending the span is telemetry too: a processor that raises on end is counted, and the
    request, the in-flight gauge and the access line are as if it had not."""
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    from crm_observability import errors

    class FailsOnEnd(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            raise RuntimeError("processor broke on end")

    harness.obs.tracing.provider.add_span_processor(FailsOnEnd())
    before = errors.failure_counts().get("tracing", 0)
    resp = harness.get("/items/7")
    assert resp.status_code == 200
    assert errors.failure_counts()["tracing"] == before + 1
    active = [s.value for s in harness.samples(names.HTTP_SERVER_ACTIVE)
              if s.labels.get("http_request_method") == "GET"]
    assert active == [0.0]  # nothing left over from /items/7 (the scrape is not observed)
    assert [x["status"] for x in harness.log_lines() if x.get("route") == "/items/{item_id}"] \
        == [200]
