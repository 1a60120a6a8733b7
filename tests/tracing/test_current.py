"""SpanActivation: the request's span made current, with or without the API's path."""

from __future__ import annotations

from contextvars import copy_context

import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from crm_observability.tracing.current import (
    SERVING_APP_KEY,
    ServingApp,
    SpanActivation,
    serving_app,
)

SPAN = NonRecordingSpan(SpanContext(0xABC, 0xDEF, False, TraceFlags(1)))


class ApiOnly(SpanActivation):
    """The fallback taken for a runtime context other than contextvars."""

    def __init__(self) -> None:
        super().__init__()
        self._var = None


def test_the_default_runtime_takes_the_direct_path() -> None:
    assert SpanActivation().direct
    assert not ApiOnly().direct


@pytest.mark.parametrize("activation", [SpanActivation(), ApiOnly()], ids=["direct", "api"])
@pytest.mark.parametrize("with_parent", [False, True], ids=["current", "parent"])
def test_activation_is_attach_of_set_span_in_context(activation: SpanActivation,
                                                     with_parent: bool) -> None:
    def run() -> None:
        # Values already current (or in the given parent) stay; the span is added.
        outer = otel_context.attach(baggage.set_baggage("tenant_id", "acme"))
        parent = baggage.set_baggage("region", "eu", context=otel_context.Context())
        given = parent if with_parent else None
        expected = trace.set_span_in_context(SPAN, given)
        before = otel_context.get_current()
        token = activation.activate(SPAN, given)
        assert otel_context.get_current() == expected
        assert trace.get_current_span() is SPAN
        assert baggage.get_all() == ({"region": "eu"} if with_parent else {"tenant_id": "acme"})
        activation.deactivate(token)
        assert otel_context.get_current() is before
        assert given is None or trace.get_current_span(given) is trace.INVALID_SPAN
        otel_context.detach(outer)

    copy_context().run(run)


@pytest.mark.parametrize("activation", [SpanActivation(), ApiOnly()], ids=["direct", "api"])
def test_the_serving_app_rides_in_the_span_context(activation: SpanActivation) -> None:
    serving = ServingApp("deals-service", "staging", trace.NoOpTracer())

    def run() -> None:
        assert serving_app() is None
        token = activation.activate(SPAN, None, serving)
        assert otel_context.get_current() == otel_context.set_value(
            SERVING_APP_KEY, serving, trace.set_span_in_context(SPAN))
        assert serving_app() is serving
        # Contexts derived from the request's keep it (a child span made current) ...
        child = otel_context.attach(trace.set_span_in_context(trace.INVALID_SPAN))
        assert serving_app() is serving
        otel_context.detach(child)
        # ... one built from nothing does not: the process's configured service it is.
        fresh = otel_context.attach(otel_context.Context())
        assert serving_app() is None
        otel_context.detach(fresh)
        activation.deactivate(token)
        assert serving_app() is None
        # Something else under the key is not taken for a serving app.
        other = otel_context.attach(otel_context.set_value(SERVING_APP_KEY, ("a", "b")))
        assert serving_app() is None
        otel_context.detach(other)

    copy_context().run(run)


def test_the_new_context_is_as_immutable_as_any() -> None:
    def run() -> None:
        token = SpanActivation().activate(SPAN, None)
        with pytest.raises(ValueError):
            otel_context.get_current()["x"] = 1  # type: ignore[index]
        SpanActivation().deactivate(token)

    copy_context().run(run)


@pytest.mark.parametrize("layout", [True, False], ids=["tuple", "constructor"])
def test_local_span_contexts_equal_the_constructors(monkeypatch: pytest.MonkeyPatch,
                                                    layout: bool) -> None:
    import random

    from opentelemetry.trace import TraceState

    from crm_observability.tracing import current

    assert current._TUPLE_LAYOUT  # this OpenTelemetry's SpanContext is the plain tuple
    monkeypatch.setattr(current, "_TUPLE_LAYOUT", layout)
    rng = random.Random(7)
    for _ in range(200):
        trace_id, span_id = rng.getrandbits(128) or 1, rng.getrandbits(64) or 1
        flags = TraceFlags(rng.choice([0, 1]))
        state = TraceState([("v", str(rng.random()))])
        made = current.local_span_context(trace_id, span_id, flags, state)
        expected = SpanContext(trace_id, span_id, False, flags, state)
        assert made == expected and type(made) is SpanContext
        assert (made.is_valid, made.is_remote, made.trace_flags.sampled) == (
            True, False, bool(flags))
    plain = current.local_span_context(1, 1)
    assert plain == SpanContext(1, 1, False)
