"""Outgoing HTTP: a CLIENT span and W3C propagation for ``requests`` and ``httpx``.

Each instrumentation patches one method (``requests.Session.send``,
``httpx.Client.send``, ``httpx.AsyncClient.send``), so every session and client,
including ones created before the call and ones with custom transports, is
covered.  The URL is recorded without credentials and without the query string
(CRM queries carry e-mail addresses and tokens).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from crm_observability import __version__
from crm_observability import conventions as names
from crm_observability.errors import report_failure
from crm_observability.tracing.propagation import inject_context

__all__ = ["instrument_httpx", "instrument_requests", "uninstrument_httpx", "uninstrument_requests"]

_ORIGINAL = "__crm_obs_original__"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _tracer() -> trace.Tracer:
    return trace.get_tracer(names.INSTRUMENTATION_NAME, __version__)


def _suppressed() -> bool:
    # Set by the SDK's batch processor while it exports: the exporter's own HTTP
    # call must not produce a span (it would feed itself forever).
    return bool(otel_context.get_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY))


def _start(method: str, url: str, headers: Any) -> trace.Span | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        if ":" in host:
            netloc = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
        attrs: dict[str, Any] = {
            names.ATTR_HTTP_REQUEST_METHOD: method,
            names.ATTR_URL_FULL: urlunsplit((parts.scheme, netloc, parts.path, "", "")),
            names.ATTR_SERVER_ADDRESS: host,
        }
        if port is not None:
            attrs[names.ATTR_SERVER_PORT] = port
        span = _tracer().start_span(method, kind=SpanKind.CLIENT, attributes=attrs)
        inject_context(headers, trace.set_span_in_context(span))
        return span
    except Exception as exc:
        report_failure("tracing", exc)
        return None


def _finish(span: trace.Span | None, status: int | None, exc: BaseException | None) -> None:
    if span is None:
        return
    try:
        if status is not None:
            span.set_attribute(names.ATTR_HTTP_RESPONSE_STATUS_CODE, status)
            if status >= 400:  # client spans: 4xx is an error too (semantic conventions)
                span.set_attribute(names.ATTR_ERROR_TYPE, str(status))
                span.set_status(Status(StatusCode.ERROR))
        if isinstance(exc, Exception):  # cancellation is not a failure of the call
            span.set_attribute(names.ATTR_ERROR_TYPE, type(exc).__qualname__)
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.end()
    except Exception as err:
        report_failure("tracing", err)


def _patch(owner: type, attr: str, make: Callable[[Any], Any]) -> None:
    current = getattr(owner, attr)
    if getattr(current, _ORIGINAL, None) is not None:
        return  # already instrumented
    wrapper = functools.wraps(current)(make(current))
    setattr(wrapper, _ORIGINAL, current)
    setattr(owner, attr, wrapper)


def _unpatch(owner: type, attr: str) -> None:
    original = getattr(getattr(owner, attr), _ORIGINAL, None)
    if original is not None:
        setattr(owner, attr, original)


def _sync_send(original: Any, request_of: Callable[[Any], tuple[str, str, Any]]) -> Any:
    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if _suppressed():
            return original(self, request, *args, **kwargs)
        method, url, headers = request_of(request)
        span = _start(method, url, headers)
        try:
            response = original(self, request, *args, **kwargs)
        except BaseException as exc:
            _finish(span, None, exc)
            raise
        _finish(span, getattr(response, "status_code", None), None)
        return response

    return send


def _requests_parts(request: Any) -> tuple[str, str, Any]:
    return str(request.method or "GET").upper(), str(request.url), request.headers


def _httpx_parts(request: Any) -> tuple[str, str, Any]:
    return request.method, str(request.url), request.headers


def instrument_requests() -> None:
    """Trace and propagate every ``requests`` call (``requests.get`` uses a Session too)."""
    import requests

    _patch(requests.Session, "send", lambda orig: _sync_send(orig, _requests_parts))


def uninstrument_requests() -> None:
    import requests

    _unpatch(requests.Session, "send")


def instrument_httpx() -> None:
    """Trace and propagate every ``httpx.Client`` and ``httpx.AsyncClient`` request."""
    import httpx

    def make_async(original: Any) -> Any:
        async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            if _suppressed():
                return await original(self, request, *args, **kwargs)
            span = _start(request.method, str(request.url), request.headers)
            try:
                response = await original(self, request, *args, **kwargs)
            except BaseException as exc:
                _finish(span, None, exc)
                raise
            _finish(span, response.status_code, None)
            return response

        return send

    _patch(httpx.Client, "send", lambda orig: _sync_send(orig, _httpx_parts))
    _patch(httpx.AsyncClient, "send", make_async)


def uninstrument_httpx() -> None:
    import httpx

    _unpatch(httpx.Client, "send")
    _unpatch(httpx.AsyncClient, "send")
