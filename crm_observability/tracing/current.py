"""The tracer of the instrumented app serving the current request.

Several instrumented apps can share a process (tests, a gateway mounting
services), each with its own resource (``service.name``).  The middleware sets
this per request, so ``@traced`` spans land in the serving app's pipeline
rather than in whichever one was configured last.
"""

from __future__ import annotations

import contextvars

from opentelemetry import trace

__all__ = ["request_tracer"]

request_tracer: contextvars.ContextVar[trace.Tracer | None] = contextvars.ContextVar(
    "crm_request_tracer", default=None
)
