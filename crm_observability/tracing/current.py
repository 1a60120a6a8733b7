"""The tracing state of the current request: its OTel context, and the app serving it.

Several instrumented apps can share a process (tests, a gateway mounting
services), each with its own resource (``service.name``).  The middleware puts
the serving app (:class:`ServingApp`: its service, environment and tracer) in
the request's OpenTelemetry context, beside the server span, so ``@traced``
spans land in that app's pipeline and log lines name that app, rather than
whichever one was configured last.  It rides in the context the span is made
current with: no context variable of its own to set and reset per request
(each pair is ~3k instructions), and contexts derived from the request's
(``set_span_in_context``, ``set_value``) keep it.  A context built from nothing
(``attach(Context())``, a propagator's ``extract()`` without a context) has no
serving app: log lines and spans there name the process's configured service,
which is the same one unless several apps share the process.

:class:`SpanActivation` puts the request's span in the OpenTelemetry context
(what ``context.attach(trace.set_span_in_context(span, parent))`` does) in one
step when the runtime context is the default ``contextvars`` one: the API's
path is five calls and two dict copies per request.  Any other runtime context
(``OTEL_PYTHON_CONTEXT``) goes through the API.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import SpanContext, TraceFlags, TraceState
from opentelemetry.trace.span import DEFAULT_TRACE_OPTIONS, DEFAULT_TRACE_STATE

__all__ = ["SERVING_APP_KEY", "ServingApp", "SpanActivation", "local_span_context",
           "otel_context_in", "serving_app"]

SERVING_APP_KEY = otel_context.create_key("crm_observability.serving_app")


@dataclass(frozen=True, slots=True)
class ServingApp:
    """The instrumented app serving a request: what its log lines and spans name."""

    service: str
    environment: str
    tracer: trace.Tracer


def _tuple_layout() -> bool:
    """True when SpanContext is the tuple its constructor builds (checked, not assumed)."""
    flags = TraceFlags(TraceFlags.SAMPLED)
    state = TraceState([("k", "v")])
    made = SpanContext(3, 5, False, flags, state)
    fields = (3, 5, False, flags, state, True)
    try:
        direct = tuple.__new__(SpanContext, fields)
    except TypeError:
        return False
    return (isinstance(made, tuple) and tuple(made) == fields and direct == made
            and (direct.trace_id, direct.span_id, direct.is_valid) == (3, 5, True)
            and direct.trace_flags is flags and direct.trace_state is state)


_TUPLE_LAYOUT = _tuple_layout()


def local_span_context(trace_id: int, span_id: int, flags: TraceFlags = DEFAULT_TRACE_OPTIONS,
                       state: TraceState = DEFAULT_TRACE_STATE) -> SpanContext:
    """``SpanContext(trace_id, span_id, False, flags, state)`` for ids drawn here, which are
    valid by construction: the tuple is built without the constructor's checks (~2k
    instructions of the request's path)."""
    if _TUPLE_LAYOUT:
        return tuple.__new__(SpanContext, (trace_id, span_id, False, flags, state, True))
    return SpanContext(trace_id, span_id, False, flags, state)


def _runtime_var() -> ContextVar[Context] | None:
    """The ContextVar behind OTel's default runtime context; None for any other runtime."""
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    var = getattr(runtime, "_current_context", None)
    if type(runtime) is ContextVarsRuntimeContext and isinstance(var, ContextVar):
        return var
    return None


def _span_key() -> str | None:
    key = getattr(trace.propagation, "_SPAN_KEY", None)
    # The key set_span_in_context uses (checked, not assumed: it is a private name).
    probe = object()
    if isinstance(key, str) and otel_context.get_value(
            key, trace.set_span_in_context(probe, Context())) is probe:  # type: ignore[arg-type]
        return key
    return None


_RUNTIME_VAR = _runtime_var()  # fixed when opentelemetry.context is imported


def serving_app(context: Context | None = None) -> ServingApp | None:
    """The app serving the current request (or the one ``context`` belongs to); None
    outside one, or in a context built anew."""
    if context is None:
        context = _RUNTIME_VAR.get() if _RUNTIME_VAR is not None else otel_context.get_current()
    value = context.get(SERVING_APP_KEY)
    return value if type(value) is ServingApp else None


_NO_CONTEXT = Context()  # what the runtime's variable holds where it was never set


def otel_context_in(snapshot: contextvars.Context) -> Context | None:
    """The OTel context current in ``snapshot`` (a ``copy_context()``), read without
    entering it; None for a runtime other than contextvars (enter it and ask the API)."""
    if _RUNTIME_VAR is None:
        return None
    context = snapshot.get(_RUNTIME_VAR)
    return context if context is not None else _NO_CONTEXT


_set_item: Callable[[Context, str | None, object], None] = dict.__setitem__  # type: ignore[assignment]


class SpanActivation:
    """Makes a span current for the request (``activate``), and undoes it (``deactivate``)."""

    __slots__ = ("_key", "_var")

    def __init__(self, var: ContextVar[Context] | None = None, key: str | None = None) -> None:
        self._var = var if var is not None else _RUNTIME_VAR
        self._key = key if key is not None else _span_key()
        if self._key is None:
            self._var = None

    @property
    def direct(self) -> bool:
        """True when the contextvars shortcut is in use."""
        return self._var is not None

    def activate(self, span: trace.Span, parent: Context | None,
                 serving: ServingApp | None = None) -> Any:
        """``attach(set_span_in_context(span, parent))``, with ``serving`` under
        :data:`SERVING_APP_KEY` when given; the token for :meth:`deactivate`."""
        var = self._var
        if var is None:
            context = trace.set_span_in_context(span, parent)
            if serving is not None:
                context = otel_context.set_value(SERVING_APP_KEY, serving, context)
            return otel_context.attach(context)
        context = Context(parent if parent is not None else var.get())
        # A new Context, not yet shared: Context refuses item assignment, dict's does not.
        _set_item(context, self._key, span)
        if serving is not None:
            _set_item(context, SERVING_APP_KEY, serving)
        return var.set(context)

    def deactivate(self, token: Any) -> None:
        var = self._var
        if var is None:
            otel_context.detach(token)
        else:
            var.reset(token)
