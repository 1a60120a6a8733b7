"""``configure_tracing``: one OpenTelemetry pipeline from :class:`Settings`.

The SDK is imported inside the function, so ``import crm_observability`` stays cheap.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace

from crm_observability import __version__
from crm_observability import conventions as names
from crm_observability.errors import report_failure
from crm_observability.settings import Settings
from crm_observability.tracing import switch

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from crm_observability.tracing.server_span import ServerSpanFactory

__all__ = ["TracingRuntime", "configure_tracing", "traces_endpoint"]

_log = logging.getLogger("crm_observability.tracing")


class TracingRuntime:
    """What ``configure_tracing`` built: the tracer to use and the pipeline behind it."""

    __slots__ = (
        "_done", "exporter", "provider", "sample_bound", "server_spans", "settings", "tracer",
    )

    def __init__(
        self, settings: Settings, tracer: trace.Tracer, provider: Any = None, exporter: Any = None
    ) -> None:
        self.settings = settings
        self.tracer = tracer
        self.provider = provider  # the SDK TracerProvider, or None when tracing is off
        self.exporter = exporter  # the SafeExporter, or None when spans are not exported
        # For root spans the middleware samples itself (tracing.sampling); None: ask the SDK.
        self.sample_bound: int | None = None
        # Builds the request's server span without the SDK tracer (tracing.server_span).
        self.server_spans: ServerSpanFactory | None = None
        self._done = False

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        """Export what is queued; False if it did not finish within ``timeout_s``. Never raises."""
        if self.provider is None or self._done:
            return True
        # The SDK's flush ignores its timeout (it blocks on the export): bound it here.
        return _bounded(lambda: self.provider.force_flush(int(timeout_s * 1000)), timeout_s)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush and stop the batch thread, waiting at most ``timeout_s``. Idempotent."""
        if self.provider is None or self._done:
            return
        self._done = True
        provider = self.provider
        if not _bounded(provider.shutdown, timeout_s) and self.exporter is not None:
            # A hung collector: drop (and count) what is left instead of blocking exit.
            self.exporter.shutdown()


def _bounded(call: Any, timeout_s: float) -> bool:
    result: list[bool] = []

    def run() -> None:
        try:
            outcome = call()
            result.append(outcome is not False)
        except Exception as exc:
            report_failure("tracing", exc)
            result.append(False)

    worker = threading.Thread(target=run, name="crm-obs-tracing-flush", daemon=True)
    worker.start()
    worker.join(max(timeout_s, 0.0))
    return bool(result and result[0])


def traces_endpoint(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for ``endpoint``: ``/v1/traces`` is appended to a base URL.

    Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"otlp_endpoint: {endpoint!r} is not an absolute http(s) URL")
    path = parts.path.rstrip("/")
    if not path.endswith(names.OTLP_TRACES_PATH):
        path += names.OTLP_TRACES_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


_lock = threading.Lock()
# Runtimes built so far with the exporter they were given: an equal call reuses one.
# (A list: Settings holds a dict, so it is comparable but not hashable.)
_runtimes: list[tuple[TracingRuntime, Any]] = []


def configure_tracing(
    settings: Settings, *, exporter: SpanExporter | None = None, set_global: bool = True
) -> TracingRuntime:
    """Build (or reuse) the tracing pipeline for ``settings``. Never raises.

    ``exporter`` replaces the OTLP/HTTP exporter (tests pass an in-memory one).
    With ``set_global`` the OpenTelemetry global API (``trace.get_tracer``,
    ``@traced``, client instrumentation) uses this pipeline.
    """
    with _lock:
        _runtimes[:] = [(r, e) for r, e in _runtimes if not r._done]
        runtime = next(
            (r for r, e in _runtimes if e is exporter and r.settings == settings), None
        )
        if runtime is None:
            runtime = _build(settings, exporter)
            _runtimes.append((runtime, exporter))
    if set_global and runtime.provider is not None and not switch.install(runtime.provider):
        _log.warning(
            "crm_observability: a global OpenTelemetry tracer provider was already set by "
            "other code; @traced and client spans go there, server spans to this pipeline"
        )
    return runtime


def _build(settings: Settings, exporter: SpanExporter | None) -> TracingRuntime:
    if not settings.tracing_enabled:
        return TracingRuntime(settings, trace.NoOpTracer())
    try:
        return _build_sdk(settings, exporter)
    except Exception as exc:  # a broken configuration must not stop the app
        report_failure("tracing", f"tracing disabled: {exc}")
        return TracingRuntime(settings, trace.NoOpTracer())


def _build_sdk(settings: Settings, exporter: SpanExporter | None) -> TracingRuntime:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from crm_observability.tracing.exporters import (
        LOG_CAPTURE,
        BoundedBatchSpanProcessor,
        SafeExporter,
        TenantAttributeProcessor,
    )
    from crm_observability.tracing.sampling import PresetIdGenerator, ratio_bound
    from crm_observability.tracing.server_span import ServerSpanFactory

    factory = _exporter_factory(settings, exporter)
    resource = Resource.create({
        names.RESOURCE_SERVICE_NAME: settings.service_name,
        names.RESOURCE_SERVICE_VERSION: settings.service_version,
        names.RESOURCE_SERVICE_NAMESPACE: settings.application,
        names.RESOURCE_DEPLOYMENT_ENVIRONMENT: settings.environment,
        names.RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME: settings.environment,
    })
    provider = TracerProvider(
        resource=resource,
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
        id_generator=PresetIdGenerator(),
        shutdown_on_exit=False,  # our atexit hook below is bounded in time
    )
    provider.add_span_processor(TenantAttributeProcessor())
    safe = None
    batch = None
    if factory is not None:
        LOG_CAPTURE.attach()
        safe = SafeExporter(factory)
        # The SDK's processor already restarts its thread in a forked child (register_at_fork).
        queue = max(settings.span_queue_size, 1)
        batch = BoundedBatchSpanProcessor(safe, max_queue_size=queue,
                                          max_export_batch_size=export_batch_size(queue))
        provider.add_span_processor(batch)
    tracer = provider.get_tracer(names.INSTRUMENTATION_NAME, __version__)
    runtime = TracingRuntime(settings, tracer, provider, safe)
    runtime.sample_bound = ratio_bound(settings.trace_sample_ratio)
    runtime.server_spans = ServerSpanFactory(
        provider.resource, InstrumentationScope(names.INSTRUMENTATION_NAME, __version__),
        batch.on_end if batch is not None else None,
        getattr(provider, "_active_span_processor", None),
    )
    atexit.register(runtime.shutdown, min(settings.otlp_timeout_s, 5.0))
    return runtime


def export_batch_size(queue_size: int) -> int:
    """Spans per export: half the queue, at most 4,096.

    What an OTLP/HTTP POST costs the service hardly depends on its size: ~0.85 ms of
    CPU measured alone, and on the served benchmark (``bench.http_overhead``, ~3,000
    spans/s) each POST slowed the event loop's thread by far more than that (batches
    of 4,096 instead of 1,024: ~13 µs less per request).  Half the queue stays free for
    the spans that arrive while a batch is being sent.  A queued span holds ~0.9 KB.
    """
    return max(1, min(4096, queue_size // 2))


def _exporter_factory(settings: Settings, exporter: SpanExporter | None) -> Any:
    if exporter is not None:
        return lambda: exporter
    if not settings.otlp_endpoint:
        return None  # spans still exist (log correlation) but are not exported
    endpoint = traces_endpoint(settings.otlp_endpoint)
    timeout = settings.otlp_timeout_s

    def build() -> SpanExporter:
        # The stock exporter's transport (env, TLS, retries) with a faster encoder.
        from crm_observability.tracing.otlp_exporter import FastOTLPSpanExporter

        return FastOTLPSpanExporter(endpoint=endpoint, timeout=timeout)

    return build
