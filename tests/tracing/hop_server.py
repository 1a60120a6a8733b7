"""A small ASGI service on a real uvicorn (127.0.0.1) that continues incoming traces.

``/leaf`` answers with what it received (tenant, traceparent, baggage);
``/forward`` calls ``/leaf`` with an instrumented ``httpx.AsyncClient`` (a second
hop); ``/status/<code>`` answers with that status.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import nullcontext
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from crm_observability.context import bind_context
from crm_observability.tracing import extract_context

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def make_hop_app(tracer: trace.Tracer) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        ctx, tenant = extract_context(scope["headers"])
        path: str = scope["path"]
        span = tracer.start_span(f"GET {path}", context=ctx, kind=SpanKind.SERVER)
        token = otel_context.attach(trace.set_span_in_context(span, ctx))
        status = 200
        try:
            with bind_context(tenant_id=tenant) if tenant else nullcontext():
                if path == "/forward":
                    base = f"http://{headers['host']}"
                    async with httpx.AsyncClient() as client:
                        body = (await client.get(f"{base}/leaf")).content
                elif path.startswith("/status/"):
                    status = int(path.rsplit("/", 1)[1])
                    body = b"{}"
                else:
                    body = json.dumps({
                        "tenant": tenant,
                        "traceparent": headers.get("traceparent"),
                        "baggage": headers.get("baggage"),
                    }).encode()
        finally:
            otel_context.detach(token)
            span.end()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app


