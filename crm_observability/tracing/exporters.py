"""Exporter side of the pipeline: failures contained, counted and reported at a bounded rate.

Imports the OpenTelemetry SDK, so only ``configure_tracing`` imports this module.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from crm_observability import conventions as names
from crm_observability.context import tenant_id_var
from crm_observability.errors import count_dropped, report_failure

__all__ = [
    "COMPONENT",
    "BoundedBatchSpanProcessor",
    "ExportLogCapture",
    "SafeExporter",
    "TenantAttributeProcessor",
]

COMPONENT = "tracing"
# Loggers that log every failed export (and every full queue) on their own; we count
# and warn once a minute instead (errors.report_failure), keeping their last words.
_EXPORT_LOGGERS = (
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.sdk._shared_internal",
)


class ExportLogCapture(logging.Filter):
    """Swallows the SDK's per-failure log records and keeps the last message as the reason."""

    def __init__(self) -> None:
        super().__init__()
        self.recent: list[str] = []  # e.g. "Transient error Service Unavailable ...", then "Failed"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not escape a filter
            message = str(record.msg)
        if message not in self.recent:
            self.recent = [*self.recent[-2:], message]
        return False

    def attach(self) -> None:
        for name in _EXPORT_LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)

    def take(self) -> str | None:
        recent, self.recent = self.recent, []
        return "; ".join(recent) or None


LOG_CAPTURE = ExportLogCapture()


class SafeExporter(SpanExporter):
    """Wraps a real exporter: never raises, counts every span it could not deliver.

    ``factory`` builds the inner exporter; it is called again in a forked child so
    the child never shares the parent's pooled HTTP connections.
    """

    def __init__(self, factory: Callable[[], SpanExporter]) -> None:
        self._factory = factory
        self._inner: SpanExporter | None = None
        self._pid = -1
        self._closed = False
        self._lock = threading.Lock()
        self.exported = 0
        self.failed = 0

    def _exporter(self) -> SpanExporter:
        pid = os.getpid()
        if self._inner is None or self._pid != pid:
            with self._lock:
                if self._inner is None or self._pid != pid:
                    self._inner = self._factory()
                    self._pid = pid
        return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        n = len(spans)
        if self._closed:
            self._drop(n, "exporter is shut down")
            return SpanExportResult.FAILURE
        try:
            result = self._exporter().export(spans)
        except Exception as exc:  # the exporter's failure stays here
            self._drop(n, exc)
            return SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self.exported += n
            return result
        self._drop(n, LOG_CAPTURE.take() or "exporter returned FAILURE")
        return SpanExportResult.FAILURE

    def _drop(self, n: int, reason: BaseException | str) -> None:
        self.failed += n
        count_dropped(COMPONENT, n)
        detail = reason if isinstance(reason, str) else f"{type(reason).__name__}: {reason}"
        report_failure(COMPONENT, f"{n} span(s) not exported: {detail}")

    def shutdown(self) -> None:
        self._closed = True
        inner = self._inner
        if inner is not None:
            try:
                inner.shutdown()
            except Exception as exc:
                report_failure(COMPONENT, exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        inner = self._inner
        if inner is None:
            return True
        try:
            return bool(inner.force_flush(timeout_millis))
        except Exception as exc:
            report_failure(COMPONENT, exc)
            return False


class BoundedBatchSpanProcessor(BatchSpanProcessor):
    """The SDK batch processor; a span that finds the queue full is dropped and counted.

    (The SDK would silently push out its oldest span instead.)  Producers share a
    lock so the check and the enqueue are one step; the worker only ever empties.
    """

    def __init__(self, exporter: SpanExporter, *, max_queue_size: int, **kwargs: Any) -> None:
        super().__init__(exporter, max_queue_size=max_queue_size, **kwargs)
        self._max_queue = max_queue_size
        self._enqueue = threading.Lock()
        inner = getattr(self, "_batch_processor", None)
        # The SDK keeps its queue private; without it we cannot see overflow (still safe).
        self._queue = getattr(inner, "_queue", None)
        # BatchSpanProcessor.on_end checks the sampled flag again, then calls this.
        self._emit = getattr(inner, "emit", None)
        # The SDK's emit asks os.getpid() for every span (a system call, ~2 µs here) to notice
        # a fork; where os.register_at_fork exists the SDK re-initialises the processor in
        # the child anyway. So the span goes on the queue here, as emit would put it.
        self._inner = inner if (
            hasattr(os, "register_at_fork") and self._queue is not None
            and all(hasattr(inner, a) for a in ("_worker_awaken", "_shutdown",
                                                 "_max_export_batch_size"))) else None

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or not context.trace_flags.sampled:
            return
        queue = self._queue
        emit = self._emit
        if queue is None or emit is None:
            super().on_end(span)
            return
        inner = self._inner
        with self._enqueue:
            if len(queue) < self._max_queue:
                if inner is None:
                    emit(span)
                elif not inner._shutdown:
                    queue.appendleft(span)  # the worker exports from the right
                    if len(queue) >= inner._max_export_batch_size:
                        awaken = inner._worker_awaken  # replaced in a forked child
                        if not awaken.is_set():
                            awaken.set()
                return
        count_dropped(COMPONENT)
        report_failure(COMPONENT, f"span queue full ({self._max_queue}): dropping spans")


class TenantAttributeProcessor(SpanProcessor):
    """Adds ``tenant.id`` from the bound context to every span started while one is bound."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        tenant = tenant_id_var.get()
        if tenant is not None:
            span.set_attribute(names.ATTR_TENANT_ID, tenant)
