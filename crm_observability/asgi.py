"""The one pure-ASGI middleware: request id, context, server span, metrics, access log.

It wraps the whole Starlette stack (outside ``ServerErrorMiddleware``), so an
unhandled exception is counted and traced as a 500, and it serves ``/metrics``
and the health endpoints itself, before the app: those are not traced, not
measured and not in the OpenAPI document.
"""

from __future__ import annotations

import gc
import logging
import re
import time
from contextvars import ContextVar, Token
from random import getrandbits
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_observability import conventions as names
from crm_observability.context import (
    KNOWN_VARS,
    extra_var,
    request_id_var,
    tenant_id_var,
)
from crm_observability.errors import report_failure
from crm_observability.health import endpoint as health_endpoint
from crm_observability.tracing.current import ServingApp, SpanActivation, local_span_context
from crm_observability.tracing.sampling import TRACE_ID_LIMIT, preset_trace_id

if TYPE_CHECKING:
    from crm_observability.instrumentation import Instrumentation


# Accept a caller's request id only when it is short and plain (it lands in logs and headers).
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_TRACE_HEADERS = (b"traceparent", b"baggage")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_CLEARED_VARS = tuple(var for var in KNOWN_VARS.values() if var is not request_id_var)

_EMPTY_EXTRA = extra_var.get()  # the unbound default
_ACCESS_LOGGER = logging.getLogger(names.ACCESS_LOGGER)


def _clear_outer_bindings() -> list[tuple[ContextVar[Any], Token[Any]]]:
    """Unbind what the surrounding context bound: tokens that restore it."""
    tokens: list[tuple[ContextVar[Any], Token[Any]]] = [
        (var, var.set(None)) for var in _CLEARED_VARS]
    tokens.append((extra_var, extra_var.set(_EMPTY_EXTRA)))
    return tokens


def route_template(scope: Scope, base_root_path: str) -> str:
    """The matched route's template (with the mount prefix), or the unmatched bucket."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    fastapi_scope = scope.get("fastapi")
    if fastapi_scope:
        # FastAPI >= 0.16x includes routers lazily: scope["route"] is the router's own route
        # (no include prefix); the effective route context has the full template.
        ctx = fastapi_scope.get("effective_route_context")
        full = getattr(getattr(ctx, "starlette_route", None), "path_format", None) or getattr(
            ctx, "path_format", None)
        if isinstance(full, str) and full:
            path = full
    if not isinstance(path, str):
        return names.UNMATCHED_ROUTE
    # Mounted sub-apps: root_path grew by the mount prefix on the way in.
    root_path: str = scope.get("root_path", "")
    if len(root_path) > len(base_root_path) and root_path.startswith(base_root_path):
        return root_path[len(base_root_path):] + path
    return path


def _path_excluded(path: str, exact: frozenset[str], prefixes: tuple[str, ...]) -> bool:
    return path in exact or (bool(prefixes) and path.startswith(prefixes))


class ObservabilityMiddleware:
    """Pure ASGI middleware; one instance per instrumented app."""

    __slots__ = (
        "_access",
        "_activation",
        "_exact",
        "_header",
        "_header_bytes",
        "_http",
        "_own",
        "_prefixes",
        "_sample_bound",
        "_server_span_type",
        "_server_spans",
        "_serving",
        "_special",
        "_special_prefixes",
        "_started",
        "app",
        "obs",
    )

    def __init__(self, app: ASGIApp, obs: Instrumentation) -> None:
        self.app = app
        self.obs = obs
        settings = obs.settings
        excluded = settings.excluded_paths
        self._exact = frozenset(p for p in excluded if not p.endswith("*"))
        self._prefixes = tuple(p[:-1] for p in excluded if p.endswith("*"))
        self._header = settings.request_id_header.lower()
        self._header_bytes = self._header.encode("latin-1")
        self._sample_bound = obs.tracing.sample_bound
        self._server_spans = obs.tracing.server_spans
        self._server_span_type = self._server_spans.span_type if self._server_spans else None
        self._serving = ServingApp(settings.service_name, settings.environment, obs.tracer)
        self._http = obs.http_metrics
        self._access = obs.access_log
        # Paths this middleware answers itself.
        self._own: dict[str, ASGIApp] = {}
        if settings.metrics_enabled and obs.metrics_app is not None:
            self._own[settings.metrics_path] = obs.metrics_app
        # Every path that is not simply observed: one set lookup and one startswith for
        # the rest, instead of the metrics, health and exclusion checks in turn.
        self._special = frozenset((*self._own, *self._exact, *health_endpoint.EXACT_PATHS))
        self._special_prefixes = (*self._prefixes, *health_endpoint.PREFIXES)
        self._activation = SpanActivation()
        self._started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if not self._started:
            # No lifespan (e.g. httpx ASGITransport): the first request means we are up.
            self._on_started()
        path: str = scope["path"]
        if path in self._special or path.startswith(self._special_prefixes):
            own = self._own.get(path)
            if own is not None:
                await own(scope, receive, send)
                return
            if self.obs.health.handles(path):
                await self.obs.health(scope, receive, send)
                return
            if _path_excluded(path, self._exact, self._prefixes):
                await self.app(scope, receive, send)
                return
        # The observed path continues inline (no nested coroutine): every suspension and
        # resumption of the app passes through each frame above it.
        start = time.perf_counter()
        method: str = scope["method"]
        metric_method = method if method in names.STANDARD_METHODS else names.OTHER_METHOD
        header = self._header_bytes
        request_id: str | None = None
        has_trace_headers = False
        for key, value in scope["headers"]:
            if key == header:
                candidate = value.decode("latin-1")
                if _REQUEST_ID_RE.fullmatch(candidate):
                    request_id = candidate
            elif key in _TRACE_HEADERS:
                has_trace_headers = True
        tenant_id: str | None = None
        parent_ctx = None
        if has_trace_headers:
            parent_ctx, tenant_id = self.obs.extract(scope["headers"])
        bound = self._sample_bound
        trace_id = getrandbits(128) or 1 if parent_ctx is None and bound is not None else 0
        span: trace.Span
        if trace_id and (trace_id & TRACE_ID_LIMIT) >= bound:  # type: ignore[operator]
            # A root span not sampled (as TraceIdRatioBased would decide: tracing.sampling).
            span = NonRecordingSpan(local_span_context(trace_id, getrandbits(64) or 1))
            sampled = False
        else:
            span = self._start_span(method, path, scope, parent_ctx, trace_id)
            span_ctx = span.get_span_context()
            trace_id = span_ctx.trace_id
            sampled = span_ctx.trace_flags.sampled
        if request_id is None:
            # The trace id doubles as the request id: one id to search logs and traces by
            # (and no request-id attribute to export: it would repeat the trace id).
            # Untraced: 128 random bits like a trace id (uuid4 reads the OS's entropy pool:
            # a system call per request for an id that guards nothing).
            request_id = (trace_id or getrandbits(128)).to_bytes(16, "big").hex()
        elif sampled:
            span.set_attribute(names.ATTR_REQUEST_ID, request_id)
        if sampled and tenant_id is not None:
            span.set_attribute(names.ATTR_TENANT_ID, tenant_id)
        rid_bytes = request_id.encode("latin-1")

        # A fresh context per request: nothing leaks in from the context it runs in (a test
        # client runs requests in the caller's), and the end undoes whatever the app bound.
        # Under a server each request's task starts with nothing bound: no clearing needed.
        outer: list[tuple[ContextVar[Any], Token[Any]]] | None
        for var in _CLEARED_VARS:  # inline: this runs on every request
            if var.get() is not None:
                outer = _clear_outer_bindings()
                break
        else:
            outer = _clear_outer_bindings() if extra_var.get() else None
        rid_token = request_id_var.set(request_id)
        tenant_token = tenant_id_var.set(tenant_id) if tenant_id is not None else None
        activation = self._activation
        # The serving app rides in the span's context: no context variable of its own.
        otel_token = activation.activate(span, parent_ctx, self._serving)

        http = self._http
        in_flight = http.in_flight_queue(metric_method)
        if in_flight is not None:
            in_flight.append(None)
        else:
            http.request_started(metric_method)
        state: list[Any] = [0, 0, 0.0]  # status, bytes, when the last byte was handed over

        async def send_wrapper(message: Message) -> None:
            mtype = message["type"]
            if mtype == "http.response.start":
                state[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), (header, rid_bytes)]
            elif mtype == "http.response.body":
                body = message.get("body")
                if body:
                    state[1] += len(body)
                if not message.get("more_body", False) and not state[2]:
                    await send(message)
                    # Latency ends when the last byte is handed over, not after background tasks.
                    state[2] = time.perf_counter()
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            if not state[2]:
                state[0] = 500
            if sampled:
                span.record_exception(exc)
                span.set_status(StatusCode.ERROR)
            raise
        finally:
            # Recorded here, when the app has returned (the latency is still the last byte's):
            # an exception raised after the response (by ServerErrorMiddleware or a background
            # task) is on the span, and the send wrapper captures four variables, not twelve.
            self._finish(scope, state, start, method, metric_method, path, span, sampled)
            if in_flight is not None:
                try:  # noqa: SIM105 - per request: suppress() costs a context manager
                    in_flight.pop()  # atomic, unlike a check then a pop
                except IndexError:  # never started (the gauge stays at 0)
                    pass
            else:
                http.request_finished(metric_method)
            activation.deactivate(otel_token)
            if tenant_token is not None:
                tenant_id_var.reset(tenant_token)
            request_id_var.reset(rid_token)
            if outer is not None:
                for var, token in reversed(outer):
                    var.reset(token)
            else:
                # Unset what the app bound and left bound (the surrounding context had
                # nothing): under a server the task ends anyway, a test client's goes on.
                for var in _CLEARED_VARS:
                    if var.get() is not None:
                        var.set(None)
                if extra_var.get():
                    extra_var.set(_EMPTY_EXTRA)

    def _start_span(
        self, method: str, path: str, scope: Scope, parent_ctx: otel_context.Context | None,
        trace_id: int,
    ) -> trace.Span:
        """The server span: ``trace_id`` is a root span's id the caller sampled, or 0."""
        parent: SpanContext | None = None
        if parent_ctx is not None:
            parent = trace.get_current_span(parent_ctx).get_span_context()
            if not parent.is_valid:
                parent = None
                bound = self._sample_bound
                if bound is not None:
                    # An invalid parent is a root span: decide here, as for no parent.
                    trace_id = getrandbits(128) or 1
                    if (trace_id & TRACE_ID_LIMIT) >= bound:
                        return NonRecordingSpan(
                            local_span_context(trace_id, getrandbits(64) or 1))
        attributes = {names.ATTR_HTTP_REQUEST_METHOD: method, names.ATTR_URL_PATH: path,
                      names.ATTR_URL_SCHEME: scope.get("scheme", "http")}
        fast = self._server_spans
        if fast is not None and fast.usable() and (trace_id or parent is not None):
            # ParentBased: a remote parent's decision stands (tracing.server_span).
            if parent is not None:
                trace_id = parent.trace_id
                flags, state = parent.trace_flags, parent.trace_state
            else:
                flags, state = _SAMPLED, None
            context = local_span_context(trace_id, getrandbits(64) or 1, flags,
                                         state if state is not None else DEFAULT_TRACE_STATE)
            if not flags.sampled:
                return NonRecordingSpan(context)
            return fast.start(method, context, parent, attributes)
        token = preset_trace_id.set(trace_id) if trace_id else None
        try:
            return self._serving.tracer.start_span(
                method, context=parent_ctx, kind=SpanKind.SERVER, attributes=attributes)
        finally:
            if token is not None:
                preset_trace_id.reset(token)

    def _finish(
        self, scope: Scope, state: list[Any], start: float, method: str, metric_method: str,
        path: str, span: trace.Span, sampled: bool,
    ) -> None:
        end: float = state[2] or time.perf_counter()  # no last byte (client gone, an error): now
        duration = end - start
        status: int = state[0] or 500
        route = route_template(scope, self.obs.base_root_path)
        try:
            trace_id = span.get_span_context().trace_id if sampled else None
            self._http.observe(metric_method, route, status, duration, trace_id)
        except Exception as exc:
            report_failure("metrics", exc)
        try:
            if type(span) is self._server_span_type:
                span.set_http_result(f"{method} {route}", route, status)
            elif sampled:
                span.update_name(f"{method} {route}")
                span.set_attribute(names.ATTR_HTTP_ROUTE, route)
                span.set_attribute(names.ATTR_HTTP_RESPONSE_STATUS_CODE, status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
            if sampled:  # the span too ends at the last byte
                span.end(end_time=time.time_ns() - int((time.perf_counter() - end) * 1e9))
        except Exception as exc:
            report_failure("tracing", exc)
        if self._access is not None and _ACCESS_LOGGER.isEnabledFor(
                logging.ERROR if status >= 500 else logging.INFO):
            self._access(method, route, status, duration, state[1], path=path)

    def _on_started(self) -> None:
        self._started = True
        self.obs.health.mark_started()
        if self.obs.settings.gc_freeze:
            # Everything loaded at startup (modules, routes, pydantic models) lives as long
            # as the process: out of the collector's sight, a full collection no longer
            # walks it, so its pauses (tens of ms, the p99 of a busy service) shrink.
            gc.freeze()

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        obs = self.obs

        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                # Readiness turns 503 first, so load balancers drain before we stop.
                obs.health.begin_shutdown()
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._on_started()
            elif message["type"] == "lifespan.shutdown.complete":
                obs.flush()
            await send(message)

        await self.app(scope, receive_wrapper, send_wrapper)
