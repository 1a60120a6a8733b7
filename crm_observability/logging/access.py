"""``log_access``: the one access line per request, written by the ASGI middleware.

It skips structlog's bound-logger machinery.  When the library's own root
handler is the only place the line can go (no other handler or filter on the
way), the event dict goes straight through that handler's formatter: no
``LogRecord`` (~3 µs) and no handler dispatch.  Otherwise (a test's ``caplog``,
an application's extra handler) it is handed to the stdlib logger the way
``ProcessorFormatter.wrap_for_formatter`` does.  Either way the line goes through
the same processors as every other one.
"""

from __future__ import annotations

import logging

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.logging.access_json import access_event
from crm_observability.logging.configure import ContainedHandler, Formatter

_logger = logging.getLogger(names.ACCESS_LOGGER)
# What ProcessorFormatter looks for to treat record.msg as a structlog event dict.
_EXTRA = {"_logger": _logger, "_name": "info"}
_EXTRA_ERROR = {"_logger": _logger, "_name": "error"}
_NAME = names.ACCESS_LOGGER


def _sole_handler(logger: logging.Logger, level: int) -> ContainedHandler | None:
    """Our root handler, when a record of ``logger`` would reach it and nothing else."""
    node: logging.Logger | None = logger
    while node is not None:
        if node.filters:
            return None
        handlers = node.handlers
        if handlers:
            handler = handlers[0]
            if (node.parent is None and len(handlers) == 1
                    and type(handler) is ContainedHandler and not handler.filters
                    and level >= handler.level and type(handler.formatter) is Formatter):
                return handler
            return None
        if not node.propagate:
            return None
        node = node.parent
    return None


def log_access(
    method: str,
    route: str,
    status: int,
    duration_s: float,
    response_bytes: int,
    *,
    path: str | None = None,
    client: str | None = None,
) -> None:
    """Log ``GET /contacts/{id} 200`` with the request's fields; never raises."""
    try:
        # Server errors at ERROR, so they survive the production profile's WARNING level.
        level = logging.ERROR if status >= 500 else logging.INFO
        if not _logger.isEnabledFor(level):
            return
        fields = (method, route, status, duration_s, response_bytes, path, client)
        handler = None if _logger.disabled else _sole_handler(_logger, level)
        if handler is not None:
            formatter: Formatter = handler.formatter  # type: ignore[assignment]
            name = "error" if status >= 500 else "info"
            fused = formatter.access_line
            # To stdout: rendered later, by the writer's thread (see access_json.PendingLine);
            # to a stream of the caller's: written now, in this context.
            pending = (fused.capture(_NAME, name, fields, now=handler.stream is not None)
                       if fused is not None else None)
            handler.write(pending if pending is not None
                          else formatter.render(_logger, name, access_event(*fields)))
            return
        # makeRecord + handle is what Logger.info does, minus the stack walk
        # (findCaller) that an access line has no use for.
        _logger.handle(
            _logger.makeRecord(_NAME, level, __file__, 0, access_event(*fields), (), None,
                               extra=_EXTRA_ERROR if status >= 500 else _EXTRA)
        )
    except Exception as exc:  # telemetry never breaks the request; the line is lost, counted
        errors.count_dropped("logging")
        errors.report_failure("logging", exc)
