"""The real OTLP/HTTP exporter into a loopback receiver, and collectors that misbehave."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as ProtoStatus

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.context import bind_context
from crm_observability.tracing import (
    TracingRuntime,
    configure_tracing,
    instrument_requests,
    set_span_attributes,
    traced,
    uninstrument_requests,
)
from tests.tracing.conftest import make_settings
from tests.tracing.otlp_receiver import OtlpReceiver, free_port


@traced(names.SPAN_CONTACT_SEARCH)
def search(query: str) -> int:
    set_span_attributes({names.ATTR_QUERY_LENGTH: len(query), names.ATTR_RESULTS_COUNT: 3})
    return 3


@pytest.fixture
def runtimes() -> Iterator[list[TracingRuntime]]:
    made: list[TracingRuntime] = []
    yield made
    for runtime in made:
        runtime.shutdown(timeout_s=0.5)


def _configure(made: list[TracingRuntime], endpoint: str, **overrides: object) -> TracingRuntime:
    runtime = configure_tracing(make_settings(otlp_endpoint=endpoint, **overrides))
    made.append(runtime)
    assert runtime.exporter is not None
    return runtime


def test_spans_arrive_as_otlp_protobuf(
    otlp_receiver: OtlpReceiver, runtimes: list[TracingRuntime]
) -> None:
    runtime = _configure(runtimes, otlp_receiver.endpoint)  # base URL: /v1/traces appended
    instrument_requests()  # the exporter's own HTTP call must not be traced
    try:
        with bind_context(tenant_id="acme"):
            assert search("smith") == 3
        assert runtime.force_flush(5)
    finally:
        uninstrument_requests()
    (span,) = otlp_receiver.wait_for_spans(1)
    assert span.name == names.SPAN_CONTACT_SEARCH
    assert span.kind == ProtoSpan.SPAN_KIND_INTERNAL
    assert span.scope == names.INSTRUMENTATION_NAME
    assert span.resource[names.RESOURCE_SERVICE_NAME] == "contacts"
    assert span.resource[names.RESOURCE_SERVICE_VERSION] == "1.2.3"
    assert span.resource[names.RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME] == "development"
    assert span.attributes[names.ATTR_QUERY_LENGTH] == 5
    assert span.attributes[names.ATTR_RESULTS_COUNT] == 3
    assert span.attributes[names.ATTR_TENANT_ID] == "acme"
    assert span.status_code == ProtoStatus.STATUS_CODE_UNSET
    assert len(span.trace_id) == 32 and len(span.span_id) == 16
    assert otlp_receiver.headers[0]["content-type"] == "application/x-protobuf"
    assert runtime.exporter.exported == 1
    assert errors.dropped_counts() == {}


def _calls_are_prompt(n: int = 20) -> float:
    start = time.perf_counter()
    for _ in range(n):
        assert search("q") == 3
    return time.perf_counter() - start


def test_unreachable_collector_drops_and_counts(
    runtimes: list[TracingRuntime], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = _configure(runtimes, f"http://127.0.0.1:{free_port()}", otlp_timeout_s=0.5)
    assert _calls_are_prompt() < 0.1  # the app never waits for the exporter
    runtime.force_flush(5)
    assert errors.dropped_counts()["tracing"] == 20
    assert errors.failure_counts()["tracing"] >= 1
    err = capsys.readouterr().err
    assert err.count("crm_observability: tracing failed") == 1  # one warning, not one per batch
    assert "20 span(s) not exported" in err


def test_collector_that_never_answers_times_out_and_counts(
    runtimes: list[TracingRuntime],
) -> None:
    with OtlpReceiver(mode="hang") as hung:
        runtime = _configure(runtimes, hung.endpoint, otlp_timeout_s=0.5)
        assert _calls_are_prompt() < 0.1
        started = time.perf_counter()
        runtime.force_flush(5)
        assert time.perf_counter() - started < 3  # bounded by otlp_timeout_s (+ one backoff)
        assert hung.wait_for_requests(1) >= 1  # it really was sent and left hanging
    assert errors.dropped_counts()["tracing"] == 20


@pytest.mark.parametrize(("status", "reason"), [(400, "code: 400"),
                                               (503, "max retries")])
def test_collector_error_status_drops_and_counts(
    runtimes: list[TracingRuntime], status: int, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with OtlpReceiver(mode=status) as bad:
        runtime = _configure(runtimes, bad.endpoint, otlp_timeout_s=0.5)
        search("x")
        runtime.force_flush(5)
    assert errors.dropped_counts()["tracing"] == 1
    assert reason in capsys.readouterr().err  # the exporter's own reason is kept


def test_full_queue_drops_are_counted_too(runtimes: list[TracingRuntime]) -> None:
    with OtlpReceiver(mode="hang") as hung:
        runtime = _configure(runtimes, hung.endpoint, otlp_timeout_s=0.5, span_queue_size=2)
        assert _calls_are_prompt(12) < 0.1
        runtime.force_flush(5)
        assert runtime.exporter is not None
        by_queue = 12 - runtime.exporter.failed
        assert by_queue > 0  # the bounded queue overflowed while the export hung
    assert errors.dropped_counts()["tracing"] == 12  # every span is accounted for


def test_shutdown_does_not_wait_for_a_hung_collector(runtimes: list[TracingRuntime]) -> None:
    with OtlpReceiver(mode="hang") as hung:
        runtime = _configure(runtimes, hung.endpoint, otlp_timeout_s=5)
        search("x")
        started = time.perf_counter()
        runtime.shutdown(timeout_s=0.3)
        assert time.perf_counter() - started < 1.0
        search("after shutdown")  # still safe to call
