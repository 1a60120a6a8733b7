"""Small structlog processors ``(logger, method, event) -> event`` of the one pipeline.

They run inside structlog's ``ProcessorFormatter``, so the same chain serves
structlog loggers and plain stdlib records (uvicorn, SQLAlchemy, libraries).
The formatter runs in the thread that logged, so context variables (the
request context, the current span) are those of the caller.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import trace
from structlog.typing import EventDict

from crm_observability import conventions as names
from crm_observability.context import get_context
from crm_observability.tracing.current import serving_app

# Attributes every LogRecord has; anything else on a record came from `extra=`.
# "message"/"asctime" are set by other handlers' formatters (a second timestamp),
# "color_message" is uvicorn's ANSI-coloured duplicate of the message.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message", "asctime", "color_message", "taskName", "_logger", "_name",
}

_LEVELS = {
    "debug": "DEBUG", "info": "INFO", "warning": "WARNING", "warn": "WARNING",
    "error": "ERROR", "exception": "ERROR", "critical": "CRITICAL", "fatal": "CRITICAL",
}

# (second, "YYYY-MM-DDTHH:MM:SS") of the last line: one tuple, read and swapped atomically.
_second_cache: tuple[int, str] = (-1, "")
# ".000Z" ... ".999Z": a lookup instead of formatting on every line.
_MILLIS = tuple(f".{millis:03d}Z" for millis in range(1000))


def iso_utc(created: float) -> str:
    """``created`` (epoch seconds) as ISO 8601 UTC with milliseconds: ``...T12:00:00.123Z``."""
    global _second_cache
    second = int(created)
    cached = _second_cache
    if cached[0] == second:
        prefix = cached[1]
    else:  # strftime once per second, not once per line
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_cache = (second, prefix)
    millis = int((created - second) * 1000)
    return prefix + (_MILLIS[millis] if 0 <= millis < 1000 else f".{millis:03d}Z")


def add_extra(logger: Any, method: str, event: EventDict) -> EventDict:
    """Copy the ``extra=`` fields of a stdlib record into the event."""
    record = event.get("_record")
    if record is not None:
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS:
                event.setdefault(key, value)
    return event


class AddCoreFields:
    """``timestamp``, ``level``, ``logger`` (from the record), ``service``, ``environment``."""

    __slots__ = ("environment", "service")

    def __init__(self, service: str, environment: str) -> None:
        self.service = service
        self.environment = environment

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        record: logging.LogRecord | None = event.get("_record")
        if record is not None:
            event[names.LOG_TIMESTAMP] = iso_utc(record.created)
            event[names.LOG_LOGGER] = record.name
        else:
            event[names.LOG_TIMESTAMP] = iso_utc(time.time())
            event[names.LOG_LOGGER] = getattr(logger, "name", None)
        event[names.LOG_LEVEL] = _LEVELS.get(method) or method.upper()
        serving = serving_app()
        if serving is None:
            event[names.LOG_SERVICE] = self.service
            event[names.LOG_ENVIRONMENT] = self.environment
        else:  # inside a request: the app serving it, when several share the process
            event[names.LOG_SERVICE] = serving.service
            event[names.LOG_ENVIRONMENT] = serving.environment
        return event


def merge_context(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Add the bound request context; keys given at the call site win."""
    for key, value in get_context().items():
        event.setdefault(key, value)
    return event


def add_trace_ids(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """``trace_id``/``span_id`` of the current OpenTelemetry span, as hex like OTel's."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event[names.LOG_TRACE_ID] = format(ctx.trace_id, "032x")
        event[names.LOG_SPAN_ID] = format(ctx.span_id, "016x")
    return event
