"""Exactly one server span per request: switch off the framework's own tracing.

FastAPI >= 0.16x ships "native telemetry" (``fastapi.telemetry``).  As soon as
a global OpenTelemetry SDK provider exists, every request gets a FastAPI
SERVER span plus ``fastapi.dependencies`` / ``fastapi.endpoint`` /
``fastapi.serialization`` spans (4 per request), and with
``FASTAPI_OTEL_AUTO_CONFIGURE=true`` FastAPI even adds its own OTLP exporter
to the global provider at startup.  Its switches live in the dict passed as
``FastAPI(telemetry=...)``, kept on the app as ``_telemetry`` and read on
every request, so turning them off there works on an existing app.  Mounted
FastAPI sub-apps run their own copy, so they are switched off too.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["disable_framework_tracing"]

_log = logging.getLogger("crm_observability.tracing")

# Our middleware makes the server span, our metrics the HTTP series, our logging the
# exception records: FastAPI's versions of each would be duplicates.
_FASTAPI_OFF = {
    "tracing": False,
    "operation_spans": False,
    "metrics": False,
    "logs": False,
    "auto_configure": False,
}
# Middleware classes that open a second SERVER span: Starlette's opt-in one and contrib's.
_SPAN_MIDDLEWARE = {
    ("starlette.middleware.opentelemetry", "OpenTelemetryMiddleware"),
    ("opentelemetry.instrumentation.asgi", "OpenTelemetryMiddleware"),
}


def disable_framework_tracing(app: Any) -> None:
    """Turn off FastAPI's native telemetry on ``app`` and its mounted sub-apps. Never raises.

    Call it before the first request and after mounting sub-apps (``instrument()`` does).
    A Starlette/contrib ``OpenTelemetryMiddleware`` added to the app is removed, with
    a warning, since it would open a second server span.
    """
    seen: set[int] = set()
    try:
        _disable(app, seen)
    except Exception as exc:  # an unknown app shape is left as it is
        _log.warning("crm_observability: could not inspect %r for framework tracing: %s",
                     type(app).__name__, exc)


def _disable(app: Any, seen: set[int]) -> None:
    if app is None or id(app) in seen:
        return
    seen.add(id(app))
    config = getattr(app, "_telemetry", None)
    if isinstance(config, dict):
        config.update(_FASTAPI_OFF)  # the same dict NativeTelemetry reads per request
    user_middleware = getattr(app, "user_middleware", None)
    if isinstance(user_middleware, list):
        kept = [m for m in user_middleware if _key(getattr(m, "cls", None)) not in _SPAN_MIDDLEWARE]
        if len(kept) != len(user_middleware):
            if getattr(app, "middleware_stack", None) is not None:
                _log.warning("crm_observability: %s already started with an "
                             "OpenTelemetryMiddleware; it will keep its own server span",
                             type(app).__name__)
            else:
                _log.warning("crm_observability: removed OpenTelemetryMiddleware from %s: "
                             "instrument() makes the one server span", type(app).__name__)
                user_middleware[:] = kept
    for route in getattr(app, "routes", None) or ():
        # Mount and Host carry a sub-application; follow wrappers down to the app.
        sub = getattr(route, "app", None)
        while sub is not None and id(sub) not in seen and not hasattr(sub, "routes"):
            nxt = getattr(sub, "app", None)
            if nxt is None:
                break
            sub = nxt
        if sub is not None and sub is not app and hasattr(sub, "routes"):
            _disable(sub, seen)


def _key(cls: Any) -> tuple[str, str] | None:
    if not isinstance(cls, type):
        return None
    return cls.__module__, cls.__name__
