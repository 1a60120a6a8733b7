"""extract_context / inject_context: W3C headers and the tenant id in baggage."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import baggage, trace
from opentelemetry.context import Context

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.context import bind_context
from crm_observability.tracing import extract_context, inject_context, valid_tenant_id
from tests.tracing.conftest import Pipeline

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01".encode()


def test_traceparent_and_tenant_come_in_from_raw_asgi_headers() -> None:
    headers = [
        (b"host", b"contacts"),
        (b"traceparent", TRACEPARENT),
        (b"tracestate", b"vendor=1"),
        (b"baggage", b"tenant_id=acme,region=eu"),
    ]
    ctx, tenant = extract_context(headers)
    parent = trace.get_current_span(ctx).get_span_context()
    assert format(parent.trace_id, "032x") == TRACE_ID
    assert format(parent.span_id, "016x") == PARENT_ID
    assert parent.is_remote and parent.trace_flags.sampled
    assert parent.trace_state.get("vendor") == "1"
    assert tenant == "acme"
    assert baggage.get_baggage("region", ctx) == "eu"


def test_header_names_are_case_insensitive_and_baggage_headers_combine() -> None:
    ctx, tenant = extract_context([
        (b"Baggage", b"region=eu"), (b"BAGGAGE", b"tenant_id=t-42"), (b"TraceParent", TRACEPARENT),
    ])
    assert tenant == "t-42"
    assert baggage.get_baggage("region", ctx) == "eu"
    assert trace.get_current_span(ctx).get_span_context().is_valid


def test_percent_encoded_tenant_is_decoded() -> None:
    _, tenant = extract_context([(b"baggage", b"tenant_id=acme%3Aeu")])
    assert tenant == "acme:eu"


@pytest.mark.parametrize("traceparent", [
    b"garbage",
    b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
    b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
    b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
    b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # no flags
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\u00e9".encode(),
])
def test_malformed_traceparent_gives_an_empty_context(traceparent: bytes) -> None:
    ctx, tenant = extract_context([(b"traceparent", traceparent)])
    assert not trace.get_current_span(ctx).get_span_context().is_valid
    assert tenant is None
    assert errors.failure_counts() == {}


@pytest.mark.parametrize("value", [
    b"tenant_id=" + b"a" * 65,  # too long
    b"tenant_id=acme%20corp",  # space
    b"tenant_id=%3Cscript%3E",  # markup
    b"tenant_id=",  # empty
    b"tenant_id",  # no value
    b"tenant_id=-leading-dash",
])
def test_invalid_tenant_is_ignored_and_not_forwarded(value: bytes) -> None:
    ctx, tenant = extract_context([(b"traceparent", TRACEPARENT), (b"baggage", value)])
    assert tenant is None
    assert baggage.get_baggage(names.BAGGAGE_TENANT_ID, ctx) is None
    # The trace itself survives a bad baggage entry.
    assert trace.get_current_span(ctx).get_span_context().is_valid


def test_no_trace_headers_is_the_empty_context() -> None:
    ctx, tenant = extract_context([(b"host", b"x"), (b"x-request-id", b"abc")])
    assert ctx == Context() and tenant is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from([b"traceparent", b"tracestate", b"baggage", b"x-other"]),
    st.binary(max_size=300),
), max_size=6))
def test_arbitrary_header_bytes_never_raise(headers: list[tuple[bytes, bytes]]) -> None:
    ctx, tenant = extract_context(headers)
    assert isinstance(ctx, Context)
    assert tenant is None or valid_tenant_id(tenant) == tenant


def test_extract_contains_a_broken_header_iterable() -> None:
    def broken() -> object:
        yield (b"traceparent", TRACEPARENT)
        raise OSError("connection reset while reading headers")

    ctx, tenant = extract_context(broken())  # type: ignore[arg-type]
    assert ctx == Context() and tenant is None
    assert errors.failure_counts()["tracing"] == 1


def test_inject_writes_the_current_span_and_bound_tenant(pipeline: Pipeline) -> None:
    carrier: dict[str, str] = {}
    tracer = pipeline.runtime.tracer
    with bind_context(tenant_id="acme"), tracer.start_as_current_span("out") as span:
        inject_context(carrier)
        span_ctx = span.get_span_context()
    assert carrier["traceparent"] == (
        f"00-{span_ctx.trace_id:032x}-{span_ctx.span_id:016x}-{int(span_ctx.trace_flags):02x}"
    )
    assert int(carrier["traceparent"][-2:], 16) & 0x01  # sampled
    assert carrier["baggage"] == "tenant_id=acme"
    # The next service reads back what this one wrote.
    ctx, tenant = extract_context([(k.encode(), v.encode()) for k, v in carrier.items()])
    assert tenant == "acme"
    assert trace.get_current_span(ctx).get_span_context().span_id == span_ctx.span_id


def test_inject_keeps_incoming_baggage_and_bound_tenant_wins() -> None:
    ctx, _ = extract_context([(b"baggage", b"tenant_id=old,region=eu")])
    carrier: dict[str, str] = {}
    with bind_context(tenant_id="new"):
        inject_context(carrier, ctx)
    entries = dict(item.split("=") for item in carrier["baggage"].split(","))
    assert entries == {"tenant_id": "new", "region": "eu"}


def test_inject_without_span_or_tenant_writes_nothing() -> None:
    carrier: dict[str, str] = {}
    inject_context(carrier)
    assert carrier == {}


def test_inject_into_a_read_only_carrier_never_raises() -> None:
    class ReadOnly(dict[str, str]):
        def __setitem__(self, key: str, value: str) -> None:
            raise TypeError("read-only headers")

    with bind_context(tenant_id="acme"):
        inject_context(ReadOnly())
    assert errors.failure_counts()["tracing"] == 1


@pytest.mark.parametrize("headers", [
    [(b"baggage", b"%%%;;==\x01")],
    [(b"baggage", b"tenant_id=acme," + b"x" * 9000)],
    [(b"baggage", ",".join(f"k{i}=v" for i in range(400)).encode())],
    [(b"traceparent", b"00-" + b"a" * 300)],
    [(b"tracestate", b"k=" + b"v" * 600)],
])
def test_hostile_headers_are_dropped_without_a_log_line_per_request(
    headers: list[tuple[bytes, bytes]], caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        ctx, tenant = extract_context(headers)
    assert tenant is None or tenant == "acme"
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry")]
    assert len(baggage.get_all(ctx)) <= 180


def test_valid_members_survive_next_to_malformed_ones() -> None:
    ctx, tenant = extract_context([(b"baggage", b"tenant_id=acme, not a member ,k=v")])
    assert tenant == "acme"
    assert baggage.get_baggage("k", ctx) == "v"
