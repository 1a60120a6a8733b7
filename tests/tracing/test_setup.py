"""configure_tracing: resource, sampling, idempotence, global switching, broken set-ups, fork."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.tracing import configure_tracing, traces_endpoint
from crm_observability.tracing.switch import installed
from tests.tracing.conftest import Pipeline, make_settings


def test_resource_carries_service_version_and_environment(pipeline: Pipeline) -> None:
    with pipeline.runtime.tracer.start_as_current_span("op"):
        pass
    (span,) = pipeline.spans()
    attrs = span.resource.attributes
    assert attrs[names.RESOURCE_SERVICE_NAME] == "contacts"
    assert attrs[names.RESOURCE_SERVICE_VERSION] == "1.2.3"
    assert attrs[names.RESOURCE_DEPLOYMENT_ENVIRONMENT] == "development"
    assert attrs[names.RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME] == "development"
    assert attrs[names.RESOURCE_SERVICE_NAMESPACE] == names.DEFAULT_APPLICATION
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == names.INSTRUMENTATION_NAME


def test_same_settings_and_exporter_give_the_same_runtime(pipeline: Pipeline) -> None:
    again = configure_tracing(pipeline.runtime.settings, exporter=pipeline.exporter)
    assert again is pipeline.runtime
    other = InMemorySpanExporter()
    different = configure_tracing(pipeline.runtime.settings, exporter=other)
    try:
        assert different is not pipeline.runtime
    finally:
        different.shutdown()


def test_global_api_follows_the_latest_runtime() -> None:
    # A module-level tracer taken before any configuration, as applications do.
    early = trace.get_tracer("app.module")
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    rt1 = configure_tracing(make_settings(), exporter=first)
    with early.start_as_current_span("one"):
        pass
    rt2 = configure_tracing(make_settings(), exporter=second)
    with early.start_as_current_span("two"):
        pass
    try:
        assert rt1.force_flush() and rt2.force_flush()
        assert [s.name for s in first.get_finished_spans()] == ["one"]
        assert [s.name for s in second.get_finished_spans()] == ["two"]
        # The SDK provider's own API stays reachable through the global one.
        assert trace.get_tracer_provider().resource is rt2.provider.resource  # type: ignore[attr-defined]
    finally:
        rt1.shutdown()
        rt2.shutdown()


def test_set_global_false_leaves_the_global_provider_alone(pipeline: Pipeline) -> None:
    switching = installed()
    assert switching is not None and switching.current is pipeline.runtime.provider
    private = configure_tracing(make_settings(service_name="private"),
                                exporter=InMemorySpanExporter(), set_global=False)
    try:
        assert switching.current is pipeline.runtime.provider
        assert private.provider is not pipeline.runtime.provider
    finally:
        private.shutdown()


def test_ratio_zero_drops_roots_but_follows_a_sampled_parent() -> None:
    exporter = InMemorySpanExporter()
    runtime = configure_tracing(make_settings(trace_sample_ratio=0.0), exporter=exporter)
    try:
        root = runtime.tracer.start_span("root")
        assert not root.get_span_context().trace_flags.sampled
        root.end()
        parent = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1))
        ctx = trace.set_span_in_context(NonRecordingSpan(parent))
        child = runtime.tracer.start_span("child", context=ctx)
        child.end()
        assert runtime.force_flush()
        assert [s.name for s in exporter.get_finished_spans()] == ["child"]
        assert exporter.get_finished_spans()[0].context.trace_id == 0x1234
    finally:
        runtime.shutdown()


def test_tracing_disabled_gives_a_no_op_runtime() -> None:
    runtime = configure_tracing(make_settings(tracing_enabled=False))
    assert not runtime.enabled
    assert not runtime.tracer.start_span("x").is_recording()
    assert runtime.force_flush() is True
    runtime.shutdown()


def test_no_endpoint_still_records_spans_for_log_correlation() -> None:
    runtime = configure_tracing(make_settings(otlp_endpoint=None), set_global=False)
    try:
        span = runtime.tracer.start_span("x")
        assert span.is_recording() and span.get_span_context().trace_id != 0
        span.end()
        assert runtime.exporter is None
    finally:
        runtime.shutdown()


class BatchSizes(InMemorySpanExporter):
    """Keeps the size of every batch it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.sizes.append(len(spans))
        return super().export(spans)


@pytest.mark.parametrize(("queue", "batch"), [(64, 32), (16384, 4096)])
def test_spans_go_out_in_batches_of_half_the_queue_at_most_4096(queue: int, batch: int) -> None:
    exporter = BatchSizes()
    runtime = configure_tracing(make_settings(span_queue_size=queue), exporter=exporter,
                                set_global=False)
    try:
        for _ in range(queue - 1):  # one short of full: nothing may be dropped
            runtime.tracer.start_span("s").end()
        deadline = time.monotonic() + 3  # well before the 5 s schedule
        while not exporter.sizes and time.monotonic() < deadline:
            time.sleep(0.01)
        assert exporter.sizes and exporter.sizes[0] == batch  # a full batch, sent at once
        assert runtime.force_flush(5)
        assert sum(exporter.sizes) == queue - 1 and max(exporter.sizes) <= batch
        assert errors.dropped_counts().get("tracing", 0) == 0
    finally:
        runtime.shutdown()


def test_broken_endpoint_never_raises_and_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    runtime = configure_tracing(make_settings(otlp_endpoint="collector:4318"))
    assert not runtime.enabled
    assert not runtime.tracer.start_span("x").is_recording()
    assert errors.failure_counts()["tracing"] == 1
    err = capsys.readouterr().err
    assert "otlp_endpoint" in err and "collector:4318" in err


@pytest.mark.parametrize(("given", "expected"), [
    ("http://otel:4318", "http://otel:4318/v1/traces"),
    ("http://otel:4318/", "http://otel:4318/v1/traces"),
    ("https://otel.example/otlp", "https://otel.example/otlp/v1/traces"),
    ("http://otel:4318/v1/traces", "http://otel:4318/v1/traces"),
])
def test_traces_endpoint_appends_the_signal_path_to_a_base_url(given: str, expected: str) -> None:
    assert traces_endpoint(given) == expected


@pytest.mark.parametrize("bad", ["otel:4318", "ftp://otel/", "http://", ""])
def test_traces_endpoint_rejects_what_is_not_an_http_url(bad: str) -> None:
    with pytest.raises(ValueError, match="otlp_endpoint"):
        traces_endpoint(bad)


def test_shutdown_is_idempotent_and_flush_after_it_is_harmless(pipeline: Pipeline) -> None:
    pipeline.runtime.shutdown()
    pipeline.runtime.shutdown()
    assert pipeline.runtime.force_flush() is True


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_batch_thread_runs_again_in_a_forked_child(pipeline: Pipeline) -> None:
    # gunicorn --preload: the provider is built in the parent, spans are made in workers.
    with pipeline.runtime.tracer.start_as_current_span("parent-before-fork"):
        pass
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report how many spans its own pipeline exported
        code = 1
        try:
            os.close(read_fd)
            pipeline.exporter.clear()
            with pipeline.runtime.tracer.start_as_current_span("in-child"):
                pass
            names_seen = [s.name for s in pipeline.spans()]
            os.write(write_fd, ",".join(names_seen).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    data = os.read(read_fd, 1000).decode()
    os.close(read_fd)
    assert os.waitstatus_to_exitcode(status) == 0, data
    assert data == "in-child"
    assert "parent-before-fork" in [s.name for s in pipeline.spans()]
    sys.stdout.flush()
