"""Structured logging: one JSON line per event, stdlib bridged, secrets redacted.

``configure_logging(settings)`` once at start-up, ``get_logger(__name__)`` in
modules, ``log_access(...)`` from the HTTP middleware.
"""

from __future__ import annotations

from crm_observability.logging.access import log_access
from crm_observability.logging.configure import (
    configure_logging,
    get_logger,
    parse_level,
    reset_logging,
)
from crm_observability.logging.redaction import REDACTED, Redactor, redact_text

__all__ = [
    "REDACTED",
    "Redactor",
    "configure_logging",
    "get_logger",
    "log_access",
    "parse_level",
    "redact_text",
    "reset_logging",
]
