"""``log_access``: the one access line per request, written by the ASGI middleware.

It skips structlog's bound-logger machinery and hands the event dict straight
to the stdlib logger the way ``ProcessorFormatter.wrap_for_formatter`` does,
so the line goes through the same formatter as every other one.
"""

from __future__ import annotations

import logging

from crm_observability import conventions as names
from crm_observability import errors

_logger = logging.getLogger(names.ACCESS_LOGGER)
# What ProcessorFormatter looks for to treat record.msg as a structlog event dict.
_EXTRA = {"_logger": _logger, "_name": "info"}
_EXTRA_ERROR = {"_logger": _logger, "_name": "error"}
_NAME = names.ACCESS_LOGGER


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
        # makeRecord + handle is what Logger.info does, minus the stack walk
        # (findCaller) that an access line has no use for.
        _logger.handle(
            _logger.makeRecord(_NAME, level, __file__, 0, event, (), None,
                               extra=_EXTRA_ERROR if status >= 500 else _EXTRA)
        )
    except Exception as exc:  # telemetry never breaks the request
        errors.report_failure("logging", exc)
