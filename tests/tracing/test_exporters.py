"""SafeExporter and friends with exporters that really fail (broken plugins), and a fork."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_observability import errors
from crm_observability.tracing import set_span_attributes, traced
from crm_observability.tracing.exporters import ExportLogCapture, SafeExporter
from tests.tracing.conftest import Pipeline


class BrokenExporter(SpanExporter):
    """Raises from every method, like a buggy vendor exporter."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionResetError("vendor SDK bug")

    def shutdown(self) -> None:
        raise RuntimeError("cannot shut down")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        raise RuntimeError("cannot flush")


def _spans(n: int) -> list[ReadableSpan]:
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    spans = []
    for i in range(n):
        span = tracer.start_span(f"s{i}")
        span.end()
        spans.append(span)
    return spans  # type: ignore[return-value]


def test_exporter_exceptions_are_contained_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    safe = SafeExporter(BrokenExporter)
    assert safe.export(_spans(3)) is SpanExportResult.FAILURE
    assert safe.export(_spans(2)) is SpanExportResult.FAILURE
    assert errors.dropped_counts() == {"tracing": 5}
    assert errors.failure_counts() == {"tracing": 2}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ConnectionResetError: vendor SDK bug" in err
    assert safe.force_flush() is False
    safe.shutdown()  # the inner exporter's failure is reported, not raised
    assert safe.export(_spans(1)) is SpanExportResult.FAILURE  # after shutdown: dropped
    assert errors.dropped_counts() == {"tracing": 6}


def test_flush_before_first_export_and_success_counting() -> None:
    inner = InMemorySpanExporter()
    safe = SafeExporter(lambda: inner)
    assert safe.force_flush() is True  # nothing built yet
    assert safe.export(_spans(2)) is SpanExportResult.SUCCESS
    assert safe.exported == 2 and len(inner.get_finished_spans()) == 2
    assert safe.force_flush() is True
    safe.shutdown()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_builds_its_own_exporter() -> None:
    built: list[int] = []

    def factory() -> SpanExporter:
        built.append(os.getpid())
        return InMemorySpanExporter()

    safe = SafeExporter(factory)
    safe.export(_spans(1))
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            safe.export(_spans(1))
            os.write(write_fd, str(len(built)).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    assert os.read(read_fd, 10) == b"2"  # parent's exporter (with its sockets) not reused
    os.close(read_fd)
    safe.export(_spans(1))
    assert len(built) == 1


def test_log_capture_keeps_warnings_as_the_reason_and_passes_debug() -> None:
    capture = ExportLogCapture()
    debug = logging.LogRecord("x", logging.DEBUG, __file__, 1, "fine", None, None)
    assert capture.filter(debug) is True
    bad = logging.LogRecord("x", logging.ERROR, __file__, 1, "code %d", ("not-int",), None)
    assert capture.filter(bad) is False
    same = logging.LogRecord("x", logging.ERROR, __file__, 1, "code %d", ("not-int",), None)
    capture.filter(same)
    assert capture.take() == "code %d"  # unformattable: the raw message, once
    assert capture.take() is None


class FailsOnEnd(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("processor broke on end")


def test_span_end_failure_is_contained(pipeline: Pipeline) -> None:
    assert pipeline.runtime.provider is not None
    pipeline.runtime.provider.add_span_processor(FailsOnEnd())

    @traced("ends-badly")
    def work() -> int:
        return 42

    assert work() == 42
    assert errors.failure_counts()["tracing"] == 1


class ExplodingSpan(trace.NonRecordingSpan):
    def is_recording(self) -> bool:
        return True

    def set_attributes(self, attributes: object) -> None:
        raise RuntimeError("span is read-only")


def test_set_span_attributes_contains_a_failing_span() -> None:
    span = ExplodingSpan(trace.INVALID_SPAN_CONTEXT)
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        set_span_attributes(x=1)
    finally:
        otel_context.detach(token)
    assert errors.failure_counts()["tracing"] == 1


def test_someone_elses_global_provider_is_respected() -> None:
    # A fresh interpreter: the global provider can be set only once per process.
    script = textwrap.dedent("""
        import logging, sys
        logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        theirs = TracerProvider()
        trace.set_tracer_provider(theirs)
        from crm_observability.settings import Settings
        from crm_observability.tracing import configure_tracing
        runtime = configure_tracing(Settings(service_name="x"))
        assert trace.get_tracer_provider() is theirs
        assert runtime.enabled and runtime.tracer.start_span("s").is_recording()
        print("OK")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "already set by other code" in result.stdout
    assert result.stdout.strip().endswith("OK")
