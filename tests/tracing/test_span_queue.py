"""The bounded span queue puts spans where the SDK's worker takes them, without the SDK's
per-span ``os.getpid()``: a full batch wakes the worker, shutdown stops the queue, and a
forked child (re-initialised by the SDK's own at-fork hook) still exports."""

from __future__ import annotations

import os
import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_observability.tracing.exporters import BoundedBatchSpanProcessor


def _setup(batch: int = 4) -> tuple[TracerProvider, BoundedBatchSpanProcessor,
                                    InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    # A minute between scheduled exports: only a full batch can make the worker export.
    processor = BoundedBatchSpanProcessor(exporter, max_queue_size=64,
                                          max_export_batch_size=batch,
                                          schedule_delay_millis=60_000)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider, processor, exporter


def _wait_for(exporter: InMemorySpanExporter, count: int, timeout_s: float = 3.0) -> int:
    deadline = time.monotonic() + timeout_s
    while len(exporter.get_finished_spans()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(exporter.get_finished_spans())


def test_a_full_batch_wakes_the_worker() -> None:
    provider, _, exporter = _setup(batch=4)
    tracer = provider.get_tracer("t")
    for i in range(3):
        tracer.start_span(f"s{i}").end()
    time.sleep(0.2)
    assert exporter.get_finished_spans() == ()  # not a batch yet, and the schedule is far
    tracer.start_span("s3").end()
    assert _wait_for(exporter, 4) == 4
    assert [s.name for s in exporter.get_finished_spans()] == ["s0", "s1", "s2", "s3"]
    provider.shutdown()


def test_after_shutdown_spans_are_not_queued() -> None:
    provider, processor, exporter = _setup()
    tracer = provider.get_tracer("t")
    provider.shutdown()
    tracer.start_span("late").end()  # neither raises nor reaches the exporter
    processor.force_flush(1000)
    assert exporter.get_finished_spans() == ()
    # Nor is it held: with the worker gone, a queued span would stay in memory for good.
    assert processor._queue is not None and len(processor._queue) == 0


def test_a_forked_child_exports_its_own_spans() -> None:
    provider, processor, exporter = _setup(batch=2)
    tracer = provider.get_tracer("t")
    tracer.start_span("parent-only").end()  # queued in the parent: the child must not send it
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported by its exit code
        ok = False
        try:
            for name in ("c1", "c2"):
                tracer.start_span(name).end()
            ok = _wait_for(exporter, 2) == 2 and [
                s.name for s in exporter.get_finished_spans()] == ["c1", "c2"]
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    processor.force_flush(1000)
    assert [s.name for s in exporter.get_finished_spans()] == ["parent-only"]
    provider.shutdown()
