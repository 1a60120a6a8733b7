"""The request's server span, recorded without the SDK tracer's general machinery.

The middleware starts exactly one span per request, with attributes of known
types, a sampling decision it already made (:mod:`.sampling`) and no start-time
span processors of its own.  Going through ``Tracer.start_span`` for it (sampler
call, attribute validation under a lock, ``on_start`` fan-out, a snapshot copy at
``end``) costs ~17 µs; this span costs a few.  It is what the SDK's own span is:
an OpenTelemetry API ``Span`` (so application code, ``get_current_span``, child
spans and propagation treat it like any other) and an SDK ``ReadableSpan`` (so
span processors and exporters receive it unchanged at ``on_end``).

It is used only while the pipeline's span processors are exactly the ones
``configure_tracing`` installed; once other code adds a processor (which may
want ``on_start``), the middleware goes back to the SDK tracer.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util import types

from crm_observability.errors import report_failure
from crm_observability.tracing.decorators import clean_attributes

__all__ = ["ServerSpan", "ServerSpanFactory"]

_UNSET = Status(StatusCode.UNSET)
_EXCEPTION_ATTRS = ("exception.type", "exception.message", "exception.stacktrace",
                    "exception.escaped")


class ServerSpanFactory:
    """What a :class:`ServerSpan` needs from its pipeline, and when it may be used."""

    __slots__ = ("_known", "_multi", "limits", "on_end", "resource", "scope")

    def __init__(
        self, resource: Resource, scope: InstrumentationScope,
        on_end: Callable[[ReadableSpan], None] | None, multi: Any,
    ) -> None:
        self.resource = resource
        self.scope = scope
        self.limits = SpanLimits()  # OTEL_SPAN_*_LIMIT, as the provider reads them
        self.on_end = on_end
        # The provider's processor fan-out and the processors it held when we built it.
        self._multi = multi
        self._known = getattr(multi, "_span_processors", None)

    @property
    def span_type(self) -> type[ServerSpan]:
        return ServerSpan

    def usable(self) -> bool:
        """False once processors other than ours were added to the provider."""
        known = self._known
        return known is not None and self._multi._span_processors is known

    def start(
        self, name: str, context: SpanContext, parent: SpanContext | None,
        attributes: dict[str, Any],
    ) -> ServerSpan:
        return ServerSpan(self, name, context, parent, attributes)


class ServerSpan(trace.Span, ReadableSpan):
    """A recording SERVER span; ``end()`` hands it to the pipeline's batch processor."""

    def __init__(
        self, factory: ServerSpanFactory, name: str, context: SpanContext,
        parent: SpanContext | None, attributes: dict[str, Any],
    ) -> None:
        # ReadableSpan's fields, set directly (its __init__ would build a default Resource).
        self._name = name
        self._context = context
        self._kind = SpanKind.SERVER
        self._parent = parent
        self._start_time: int | None = time.time_ns()
        self._end_time: int | None = None
        self._attributes: dict[str, Any] = attributes
        self._events: list[Event] = []
        self._links: list[Link] = []
        self._resource = factory.resource
        self._status: Status = _UNSET
        self._instrumentation_scope = factory.scope
        self._instrumentation_info = None
        self._factory = factory
        self._dropped_attributes = 0
        self._dropped_events = 0

    # --- the API span ---------------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context  # type: ignore[return-value]  # set in __init__, never None

    def is_recording(self) -> bool:
        return self._end_time is None

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        self.set_attributes({key: value})

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        if self._end_time is not None:
            return
        limits = self._factory.limits
        most = limits.max_span_attributes
        longest = limits.max_attribute_length
        mine = self._attributes
        for key, value in clean_attributes(attributes).items():
            if longest is not None and isinstance(value, str):
                value = value[:longest]
            if key in mine or most is None or len(mine) < most:
                mine[key] = value
            else:
                self._dropped_attributes += 1

    def set_http_result(self, name: str, route: str, status: int) -> None:
        """The middleware's attributes at the end of the request (types known: no checks)."""
        if self._end_time is not None:  # the app ended it early: as after end(), ignored
            return
        self._name = name
        self._attributes["http.route"] = route
        self._attributes["http.response.status_code"] = status
        if status >= 500:
            self._status = Status(StatusCode.ERROR)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if self._end_time is not None:
            return
        most = self._factory.limits.max_events
        if most is not None and len(self._events) >= most:
            self._dropped_events += 1
            return
        clean = clean_attributes(attributes) if attributes else {}
        self._events.append(Event(name, clean, timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if self._end_time is None and context.is_valid:
            self._links.append(Link(context, clean_attributes(attributes or {})))

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: nothing after the end, and OK is final.
        if self._end_time is not None or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            self._status = status
        else:
            self._status = Status(status, description)

    def record_exception(
        self, exception: BaseException, attributes: types.Attributes = None,
        timestamp: int | None = None, escaped: bool = False,
    ) -> None:
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        values = (
            f"{module}.{qualname}" if module and module != "builtins" else qualname,
            str(exception),
            "".join(traceback.format_exception(exception)),
            str(escaped),
        )
        event: dict[str, Any] = dict(zip(_EXCEPTION_ATTRS, values, strict=True))
        if attributes:
            event.update(attributes)
        self.add_event("exception", event, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end_time is not None:
            return
        self._end_time = end_time or time.time_ns()
        on_end = self._factory.on_end
        if on_end is not None:
            try:
                on_end(self)
            except Exception as exc:  # a processor's failure stays out of the request
                report_failure("tracing", exc)

    # --- the readable span (counts the SDK keeps in its bounded containers) ----------------

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_attributes

    @property
    def dropped_events(self) -> int:
        return self._dropped_events

    @property
    def dropped_links(self) -> int:
        return 0

    @property
    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def __repr__(self) -> str:
        return f'ServerSpan(name="{self._name}", context={self._context})'
