"""Tracing: OpenTelemetry set-up from Settings, ``@traced``, W3C propagation, HTTP clients.

Only the OpenTelemetry API is imported here; the SDK loads inside
:func:`configure_tracing`.
"""

from __future__ import annotations

from crm_observability.tracing.clients import (
    instrument_httpx,
    instrument_requests,
    uninstrument_httpx,
    uninstrument_requests,
)
from crm_observability.tracing.decorators import set_span_attributes, traced
from crm_observability.tracing.framework import disable_framework_tracing
from crm_observability.tracing.propagation import extract_context, inject_context, valid_tenant_id
from crm_observability.tracing.setup import TracingRuntime, configure_tracing, traces_endpoint

__all__ = [
    "TracingRuntime",
    "configure_tracing",
    "disable_framework_tracing",
    "extract_context",
    "inject_context",
    "instrument_httpx",
    "instrument_requests",
    "set_span_attributes",
    "traced",
    "traces_endpoint",
    "uninstrument_httpx",
    "uninstrument_requests",
    "valid_tenant_id",
]
