"""The JSON access line in one step: the processor chain's line, without the chain.

Every request writes one access line, so its rendering is on every request's
path.  The general pipeline (``configure.build_formatter``) runs eight
processors over the event, each copying or reordering part of it.  For the
access line the outcome is known in advance: core fields, the request fields,
the bound context, the trace ids, redaction, JSON.  ``JSONAccessLine`` builds
that dict in its final order and hands it to the same :class:`Redactor` and
the same ``dumps`` as the chain, so the line is the chain's, byte for byte
(``tests/logging/test_access_json.py`` compares them).

When the bound context holds a key the chain would treat specially (one that
collides with a core or request field, or a structlog meta key), it returns
None and the caller takes the general path.

:meth:`JSONAccessLine.capture` splits the work in two.  On the request's path it
takes the clock and a snapshot of the context (``contextvars.copy_context()``:
constant time, it shares the context's immutable mapping) and nothing else; the
bound keys, the serving app and the trace ids are read from that snapshot (as a
mapping, without entering it), and
redaction and JSON done, when the stdout writer thread renders a batch of lines
(:class:`PendingLine`).  Each read on the request's path touches dicts and code
the request's own work has just evicted from the CPU caches: read one after
another in the writer's batch they cost a fraction of that.
"""

from __future__ import annotations

import time
from contextvars import Context, copy_context
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context as OtelContext

from crm_observability import conventions as names
from crm_observability.context import extra_var, get_context
from crm_observability.logging.processors import iso_utc
from crm_observability.logging.redaction import Redactor
from crm_observability.logging.renderers import dumps
from crm_observability.tracing.current import otel_context_in, serving_app

__all__ = ["AccessFields", "JSONAccessLine", "PendingLine", "access_event"]

# method, route, status, duration (s), response bytes, path, client: what log_access takes.
AccessFields = tuple[str, str, int, float, int, str | None, str | None]


def access_event(method: str, route: str, status: int, duration_s: float,
                 response_bytes: int, path: str | None, client: str | None) -> dict[str, Any]:
    """The access line's event dict (its ``event`` key is the message)."""
    event = {
        "event": f"{method} {route} {status}",
        names.LOG_HTTP_METHOD: method,
        names.LOG_HTTP_ROUTE: route,
        names.LOG_HTTP_STATUS: status,
        names.LOG_DURATION_MS: round(duration_s * 1000.0, 3),
        names.LOG_RESPONSE_BYTES: response_bytes,
    }
    if path is not None:
        event[names.LOG_HTTP_PATH] = path
    if client is not None:
        event[names.LOG_CLIENT] = client
    return event

# Keys the chain fills, renames or consumes: a context key among them goes the long way.
_RESERVED = frozenset({
    names.LOG_TIMESTAMP, names.LOG_LEVEL, names.LOG_LOGGER, names.LOG_MESSAGE,
    names.LOG_SERVICE, names.LOG_ENVIRONMENT, names.LOG_TRACE_ID, names.LOG_SPAN_ID,
    names.LOG_EXCEPTION, names.LOG_HTTP_METHOD, names.LOG_HTTP_ROUTE, names.LOG_HTTP_PATH,
    names.LOG_HTTP_STATUS, names.LOG_DURATION_MS, names.LOG_RESPONSE_BYTES, names.LOG_CLIENT,
    "event", "exc_info", "stack", "stack_info", "positional_args", "_record",
    "_from_structlog",
})
_LEVEL_NAMES = {"info": "INFO", "error": "ERROR"}


class PendingLine:
    """An access line captured on the request's path, rendered later by :meth:`render`."""

    __slots__ = ("_context", "_event", "_logger", "_method", "_owner", "_time")

    def __init__(self, owner: JSONAccessLine, logger_name: str, method: str,
                 event: dict[str, Any] | AccessFields, context: Context | None) -> None:
        self._owner, self._logger, self._method, self._event = owner, logger_name, method, event
        self._context = context
        self._time = time.time()

    def render(self) -> str:
        """The line, rendered as of the context it was captured in (any thread, once)."""
        snapshot = self._context
        if snapshot is None:  # rendered at once: the caller's context is the line's
            return self._render(None, None)
        otel = otel_context_in(snapshot)
        if otel is None:  # another OTel runtime: only its API reads it, inside the snapshot
            return snapshot.run(self._render, None, None)
        # Read from the snapshot, not run in it: entering a context costs every variable
        # read after it its cache (~1.4 µs a line).
        return self._render(snapshot, otel)

    def _render(self, snapshot: Context | None, otel: OtelContext | None) -> str:
        owner, method = self._owner, self._method
        given = self._event
        # The access fields: their dict is built here, off the request's path.
        event = access_event(*given) if isinstance(given, tuple) else given
        bound = get_context(snapshot)  # no clash with a reserved key: capture checked
        if bound:
            event.update(bound)
        if owner._redactor is not None:
            # Before the core fields and trace ids are added: the chain's Redactor skips them.
            owner._redactor(None, method, event)
        serving = serving_app(otel)
        service, environment = (serving.service, serving.environment) if serving is not None \
            else (owner._service, owner._environment)
        out: dict[str, Any] = {
            names.LOG_TIMESTAMP: iso_utc(self._time),
            names.LOG_LEVEL: _LEVEL_NAMES.get(method) or method.upper(),
            names.LOG_LOGGER: self._logger,
            names.LOG_MESSAGE: event.pop("event"),
            names.LOG_SERVICE: service,
            names.LOG_ENVIRONMENT: environment,
        }
        out.update(event)
        span_context = trace.get_current_span(otel).get_span_context()
        if span_context.is_valid:
            out[names.LOG_TRACE_ID] = format(span_context.trace_id, "032x")
            out[names.LOG_SPAN_ID] = format(span_context.span_id, "016x")
        return dumps(out)


class JSONAccessLine:
    """Renders an access event as ``JSONRenderer`` at the end of the chain would."""

    __slots__ = ("_environment", "_redactor", "_service")

    def __init__(self, service: str, environment: str, redactor: Redactor | None) -> None:
        self._service = service
        self._environment = environment
        self._redactor = redactor

    def capture(self, logger_name: str, method: str, event: dict[str, Any] | AccessFields,
                *, now: bool = False) -> PendingLine | None:
        """What the line needs from the request, now; None: use the chain.

        ``event`` holds the access fields only, as a dict (consumed) or as the arguments
        of :func:`access_event`.  ``now``: the line is rendered at once, in this context
        (no snapshot needed).
        """
        extra = extra_var.get()  # the well-known keys never clash (tests/logging)
        if extra and not _RESERVED.isdisjoint(extra):
            return None
        return PendingLine(self, logger_name, method, event, None if now else copy_context())

    def __call__(self, logger_name: str, method: str, event: dict[str, Any]) -> str | None:
        """The line for ``event`` (its ``event`` key is the message), or None: use the chain."""
        pending = self.capture(logger_name, method, event, now=True)
        return pending.render() if pending is not None else None
