"""The fast OTLP span encoder against the stock one: same decoded request, field for field."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import (
    encode_spans as stock_encode_spans,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from crm_observability.tracing.encoding import cache_sizes, encode_spans, fallback_count
from crm_observability.tracing.otlp_exporter import FastOTLPSpanExporter
from tests.tracing.otlp_receiver import OtlpReceiver

RESOURCE = Resource.create({"service.name": "contacts", "service.version": "1.2.3"})
REMOTE = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "abc"), ("crm", "1")]),
)


class Recorder:
    """A real SDK provider whose finished spans are kept in memory."""

    def __init__(self, resource: Resource = RESOURCE, limits: SpanLimits | None = None) -> None:
        self.memory = InMemorySpanExporter()
        self.provider = TracerProvider(resource=resource, span_limits=limits)
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.memory.get_finished_spans()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.provider.shutdown()


def fast_request(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(encode_spans(spans))


def assert_same_as_stock(spans: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
    before = fallback_count()
    fast = fast_request(spans)
    assert fast == stock_encode_spans(spans)
    assert fallback_count() == before, "the fast path declined a batch it should encode"
    return fast


def server_span(rec: Recorder, i: int, status: int = 200) -> None:
    """What the ASGI middleware records for one request."""
    tracer = rec.provider.get_tracer("crm_observability", "0.1.0")
    span = tracer.start_span(
        "GET",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "GET",
            "url.path": f"/api/v1/contacts/{i}",
            "url.scheme": "http",
        },
    )
    span.update_name("GET /api/v1/contacts/{contact_id}")
    span.set_attribute("http.route", "/api/v1/contacts/{contact_id}")
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("tenant.id", "acme")
    if status >= 500:
        span.set_status(StatusCode.ERROR)
    span.end()


def test_server_spans_match_stock(recorder: Recorder) -> None:
    for i in range(20):
        server_span(recorder, i, 503 if i % 7 == 0 else 200)
    request = assert_same_as_stock(recorder.spans())
    (resource_spans,) = request.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "crm_observability"
    assert len(scope_spans.spans) == 20
    first = scope_spans.spans[0]
    assert first.kind == ProtoSpan.SPAN_KIND_SERVER
    assert first.status.code == 2 and first.HasField("status")
    assert first.flags == 0x100  # HAS_IS_REMOTE, parent not remote (no parent)


def test_a_second_batch_from_the_caches_still_matches(recorder: Recorder) -> None:
    for i in range(5):
        server_span(recorder, i)
    spans = recorder.spans()
    assert_same_as_stock(spans)
    assert_same_as_stock(spans)  # now KeyValue, resource and scope come from caches
    assert_same_as_stock(spans[1:3])


def test_parents_local_and_remote(recorder: Recorder) -> None:
    tracer = recorder.provider.get_tracer("t")
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        pass
    remote = set_span_in_context(NonRecordingSpan(REMOTE))
    tracer.start_span("from-remote", context=remote, kind=SpanKind.SERVER).end()
    request = assert_same_as_stock(recorder.spans())
    by_name = {s.name: s for s in request.resource_spans[0].scope_spans[0].spans}
    assert by_name["child"].parent_span_id == by_name["root"].span_id
    assert by_name["child"].flags == 0x100
    assert by_name["from-remote"].parent_span_id == REMOTE.span_id.to_bytes(8, "big")
    assert by_name["from-remote"].flags == 0x300  # HAS_IS_REMOTE | IS_REMOTE
    assert by_name["from-remote"].trace_state == "vendor=abc,crm=1"


def test_events_and_exceptions(recorder: Recorder) -> None:
    tracer = recorder.provider.get_tracer("t")
    span = tracer.start_span("work")
    span.add_event("cache.miss", {"key": "contact:7", "size": 3})
    span.add_event("bare")
    span.record_exception(ValueError("no such contact"))
    span.end()
    request = assert_same_as_stock(recorder.spans())
    events = request.resource_spans[0].scope_spans[0].spans[0].events
    assert [e.name for e in events] == ["cache.miss", "bare", "exception"]


def test_dropped_counts() -> None:
    rec = Recorder(limits=SpanLimits(
        max_span_attributes=2, max_events=1, max_links=1, max_event_attributes=1,
        max_link_attributes=1,
    ))
    tracer = rec.provider.get_tracer("t")
    links = [Link(REMOTE), Link(REMOTE, {"a": 1, "b": 2})]  # the oldest is dropped
    span = tracer.start_span("limited", links=links, attributes={"a": 1, "b": 2, "c": 3})
    span.add_event("e0")
    span.add_event("e1", {"x": 1, "y": 2})  # the oldest event is the one dropped
    span.end()
    request = assert_same_as_stock(rec.spans())
    proto = request.resource_spans[0].scope_spans[0].spans[0]
    assert proto.dropped_attributes_count == 1
    assert proto.dropped_events_count == 1
    assert proto.dropped_links_count == 1
    assert proto.events[0].dropped_attributes_count == 1
    assert proto.links[0].dropped_attributes_count == 1


def test_links(recorder: Recorder) -> None:
    tracer = recorder.provider.get_tracer("t")
    local = SpanContext(0x1234, 0x5678, is_remote=False, trace_flags=TraceFlags(0))
    span = tracer.start_span("batch", links=[Link(REMOTE, {"reason": "retry"}), Link(local)])
    span.end()
    request = assert_same_as_stock(recorder.spans())
    links = request.resource_spans[0].scope_spans[0].spans[0].links
    assert [link.flags for link in links] == [0x300, 0x100]
    assert links[0].attributes[0].key == "reason"


@pytest.mark.parametrize(
    "status",
    [None, Status(StatusCode.UNSET), Status(StatusCode.OK), Status(StatusCode.ERROR),
     Status(StatusCode.ERROR, "upstream timed out")],
)
def test_statuses(recorder: Recorder, status: Status | None) -> None:
    tracer = recorder.provider.get_tracer("t")
    span = tracer.start_span("s")
    if status is not None:
        span.set_status(status)
    span.end()
    request = assert_same_as_stock(recorder.spans())
    proto = request.resource_spans[0].scope_spans[0].spans[0]
    assert proto.HasField("status")  # stock sends it even when UNSET
    if status is not None and status.description:
        assert proto.status.message == "upstream timed out"


def test_every_attribute_type(recorder: Recorder) -> None:
    tracer = recorder.provider.get_tracer("t")
    span = tracer.start_span("typed", attributes={
        "s": "text", "b": True, "b0": False, "i": 7, "one": 1, "neg": -(2**63), "f": 1.5,
        "zero": 0.0, "negzero": -0.0, "nan": float("nan"), "bytes": b"\x00\xff",
        "strs": ["a", "b"], "bools": [True, False], "ints": [1, 2, 3], "floats": [0.5, -1.0],
        "empty": [], "with_none": ["a", None], "map": {"k": "v", "n": {"deep": 1}},
    })
    span.end()
    spans = recorder.spans()
    fast = fast_request(spans)
    stock = stock_encode_spans(spans)
    # NaN != NaN in message equality, so compare the bytes for this one.
    assert fast.SerializeToString() == stock.SerializeToString()
    attrs = {kv.key: kv.value for kv in fast.resource_spans[0].scope_spans[0].spans[0].attributes}
    assert attrs["b"].bool_value is True and attrs["one"].int_value == 1
    assert attrs["ints"].array_value.values[2].int_value == 3
    assert str(attrs["negzero"].double_value) == "-0.0"


def test_bool_and_int_values_do_not_share_cache_entries(recorder: Recorder) -> None:
    tracer = recorder.provider.get_tracer("t")
    for value in (True, 1, 1.0, False, 0, 0.0, -0.0):
        tracer.start_span("v", attributes={"x": value}).end()
    spans = recorder.spans()
    assert_same_as_stock(spans)
    assert_same_as_stock(spans)


def test_two_resources_and_two_scopes_interleaved() -> None:
    first, second = Recorder(), Recorder(Resource.create({"service.name": "billing"}))
    # An equal but distinct Resource object groups with the first, as in stock.
    twin = Recorder(Resource.create({"service.name": "contacts", "service.version": "1.2.3"}))
    for i in range(3):
        for rec in (first, second, twin):
            rec.provider.get_tracer("a", "1").start_span(f"a{i}").end()
            rec.provider.get_tracer("b", schema_url="https://opentelemetry.io/schemas/1.21.0",
                                    attributes={"scope.attr": "x"}).start_span(f"b{i}").end()
    spans: list[ReadableSpan] = []
    for trio in zip(first.spans(), second.spans(), twin.spans(), strict=True):
        spans.extend(trio)
    request = assert_same_as_stock(spans)
    assert len(request.resource_spans) == 2
    assert [len(ss.spans) for ss in request.resource_spans[0].scope_spans] == [6, 6]
    assert request.resource_spans[0].scope_spans[1].schema_url.endswith("1.21.0")


def test_schema_urls_and_missing_scope() -> None:
    resource = Resource({"service.name": "x"}, schema_url="https://example.com/schema")
    spans = [
        ReadableSpan("no-scope", context=REMOTE, resource=resource),
        ReadableSpan(
            "scoped", context=REMOTE, resource=resource,
            instrumentation_scope=InstrumentationScope("s", None, "https://example.com/s"),
        ),
    ]
    request = assert_same_as_stock(spans)
    assert request.resource_spans[0].schema_url == "https://example.com/schema"


def _server_spans() -> list[ReadableSpan]:
    """The middleware's own spans (tracing.server_span) in every shape they come in."""
    from crm_observability.tracing.server_span import ServerSpanFactory

    factory = ServerSpanFactory(RESOURCE, InstrumentationScope("crm_observability", "0.1.0"),
                                None, None)
    local_parent = SpanContext(0x1234, 0x77, is_remote=False, trace_flags=TraceFlags(1))
    remote_parent = SpanContext(REMOTE.trace_id, REMOTE.span_id, is_remote=True,
                                trace_flags=TraceFlags(1))  # no trace state
    spans = []
    for i, parent in enumerate([None, local_parent, remote_parent, REMOTE] * 3):
        trace_id = parent.trace_id if parent is not None else 0xABC0 + i
        context = SpanContext(trace_id, 0x5000 + i, is_remote=False, trace_flags=TraceFlags(1),
                              trace_state=parent.trace_state if parent is not None else None)
        span = factory.start("GET", context, parent, {
            "http.request.method": "GET", "url.path": f"/api/v1/contacts/{i % 5}",
            "url.scheme": "http"})
        span.set_attributes({"n": -i, "ratio": i / 3, "flag": i % 2 == 0, "tags": ("a", "b"),
                             "big": 2**40 + i})
        span.set_http_result("GET /api/v1/contacts/{contact_id}",
                             "/api/v1/contacts/{contact_id}", 503 if i % 4 == 0 else 200)
        if i % 6 == 5:
            span.set_status(Status(StatusCode.ERROR, "described"))
        if i == 7:
            span.add_event("looked-up", {"hit": True})
        span.end()
        spans.append(span)
    return spans


def test_the_middlewares_server_spans_match_stock_byte_for_byte() -> None:
    spans = _server_spans()
    for batch in (spans, spans[:1], spans[2:3], list(reversed(spans))):
        assert_same_as_stock(batch)
        assert encode_spans(batch) == stock_encode_spans(batch).SerializePartialToString()
    request = fast_request(spans)
    encoded = request.resource_spans[0].scope_spans[0].spans
    assert [s.flags for s in encoded[:4]] == [0x100, 0x100, 0x300, 0x300]
    assert encoded[1].parent_span_id == (0x77).to_bytes(8, "big")
    assert encoded[3].trace_state == "vendor=abc,crm=1"
    assert encoded[0].status.code == 2 and encoded[1].status.code == 0


@pytest.mark.parametrize(("count", "every", "pauses"), [(1, 512, 0), (512, 512, 0),
                                                       (513, 512, 1), (1300, 512, 2),
                                                       (10, 3, 3)])
def test_a_big_batch_pauses_between_slices_and_encodes_the_same(
        recorder: Recorder, count: int, every: int, pauses: int) -> None:
    for i in range(count):
        server_span(recorder, i)
    spans = recorder.spans()
    calls: list[int] = []
    paused = encode_spans(spans, pause=lambda: calls.append(1), pause_every=every)
    assert len(calls) == pauses  # after each full slice, never after the last span
    assert paused == encode_spans(spans)
    assert ExportTraceServiceRequest.FromString(paused) == stock_encode_spans(spans)


def test_empty_batch() -> None:
    assert encode_spans([]) == stock_encode_spans([]).SerializePartialToString() == b""


def test_value_cache_stays_bounded(recorder: Recorder) -> None:
    tracer = recorder.provider.get_tracer("t")
    for i in range(10_000):
        tracer.start_span("GET", attributes={"url.path": f"/contacts/{i}", "n": i}).end()
    spans = recorder.spans()
    for start in range(0, len(spans), 512):
        assert_same_as_stock(spans[start:start + 512])
    sizes = cache_sizes()
    assert 0 < sizes["chunks"] <= 4096  # the bound named in the design
    assert 0 < sizes["values"] <= 4096


def test_unknown_value_type_falls_back_to_stock(caplog: pytest.LogCaptureFixture) -> None:
    # The SDK cleans values, but a hand-built ReadableSpan can carry anything.
    odd = ReadableSpan("odd", context=REMOTE, resource=RESOURCE,
                       attributes={"ok": "yes", "odd": object(), "huge": 2**70})
    before = fallback_count()
    fast = fast_request([odd])
    assert fallback_count() == before + 1
    assert fast == stock_encode_spans([odd])
    assert [kv.key for kv in fast.resource_spans[0].scope_spans[0].spans[0].attributes] == ["ok"]


def test_stock_errors_are_not_hidden() -> None:
    bad = ReadableSpan("bad", context=SpanContext(1, 2**64, is_remote=False), resource=RESOURCE)
    with pytest.raises(OverflowError):
        stock_encode_spans([bad])
    with pytest.raises(OverflowError):
        encode_spans([bad])


def test_exporter_sends_to_a_real_receiver(recorder: Recorder) -> None:
    tracer = recorder.provider.get_tracer("crm_observability")
    remote = set_span_in_context(NonRecordingSpan(REMOTE))
    with tracer.start_as_current_span("GET /contacts", context=remote, kind=SpanKind.SERVER,
                                      attributes={"http.route": "/contacts"}) as span:
        span.add_event("db.query")
        span.set_status(Status(StatusCode.ERROR, "boom"))
    spans = recorder.spans()
    with OtlpReceiver() as receiver:
        exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=5)
        try:
            assert exporter._fast  # this SDK has everything the fast path needs
            assert exporter.export(spans) is SpanExportResult.SUCCESS
        finally:
            exporter.shutdown()
        assert exporter.export(spans) is SpanExportResult.FAILURE  # after shutdown, as stock
        (got,) = receiver.wait_for_spans(1)
        assert receiver.requests[0] == stock_encode_spans(spans)
    assert got.name == "GET /contacts"
    assert got.kind == ProtoSpan.SPAN_KIND_SERVER
    assert got.parent_span_id == f"{REMOTE.span_id:016x}"
    assert got.trace_id == f"{REMOTE.trace_id:032x}"
    assert got.attributes == {"http.route": "/contacts"}
    assert got.resource["service.name"] == "contacts"
    assert got.status_code == 2 and got.events == ("db.query",)


def test_exporter_enforces_the_size_limit(recorder: Recorder) -> None:
    server_span(recorder, 1)
    with OtlpReceiver() as receiver:
        exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces",
                                        max_request_size=10)
        try:
            assert exporter.export(recorder.spans()) is SpanExportResult.FAILURE
        finally:
            exporter.shutdown()
        assert receiver.hits == 0


def test_exporter_reports_collector_errors(recorder: Recorder) -> None:
    server_span(recorder, 1)
    with OtlpReceiver(mode=400) as receiver:
        exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=2)
        try:
            assert exporter.export(recorder.spans()) is SpanExportResult.FAILURE
        finally:
            exporter.shutdown()
        assert receiver.hits == 1  # 400 is not retried


def test_exporter_without_sdk_internals_uses_stock_export(recorder: Recorder) -> None:
    server_span(recorder, 1)
    with OtlpReceiver() as receiver:
        exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=5)
        exporter._fast = False  # what __init__ decides when the SDK's privates are missing
        try:
            assert exporter.export(recorder.spans()) is SpanExportResult.SUCCESS
        finally:
            exporter.shutdown()
        assert receiver.wait_for_spans(1)[0].name == "GET /api/v1/contacts/{contact_id}"
