"""``instrument(app)``: logging, metrics, tracing and health for a Starlette/FastAPI app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from opentelemetry.context import Context
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry

from crm_observability.errors import report_failure
from crm_observability.health import HealthRegistry
from crm_observability.logging import configure_logging, log_access
from crm_observability.metrics import (
    HttpServerMetrics,
    MetricsRegistry,
    metrics_asgi_app,
    set_default_registry,
)
from crm_observability.settings import Settings
from crm_observability.tracing import (
    TracingRuntime,
    configure_tracing,
    disable_framework_tracing,
    extract_context,
)

__all__ = ["Instrumentation", "instrument"]

_STATE_KEY = "observability"


@dataclass(eq=False)
class Instrumentation:
    """What ``instrument()`` wired; also at ``app.state.observability``."""

    settings: Settings
    metrics: MetricsRegistry
    health: HealthRegistry
    tracing: TracingRuntime
    http_metrics: HttpServerMetrics
    metrics_app: Any
    access_log: Callable[..., None] | None
    base_root_path: str = ""
    extract: Callable[[Iterable[tuple[bytes, bytes]]], tuple[Context, str | None]] = field(
        default=extract_context
    )

    @property
    def tracer(self) -> Tracer:
        return self.tracing.tracer

    @property
    def registry(self) -> CollectorRegistry:
        return self.metrics.registry

    def flush(self) -> None:
        """Export buffered spans now (called at shutdown). Never raises."""
        try:
            self.tracing.force_flush()
        except Exception as exc:
            report_failure("tracing", exc)


def instrument(
    app: Any,
    settings: Settings | None = None,
    *,
    exporter: Any = None,
    registry: CollectorRegistry | None = None,
    health_authorizer: Callable[[Mapping[str, str]], bool | Awaitable[bool]] | None = None,
    log_stream: TextIO | None = None,
    **overrides: Any,
) -> Instrumentation:
    """Wire logs, metrics, traces and health into ``app`` with one pure ASGI middleware.

    Idempotent: a second call on the same app returns the first ``Instrumentation``.
    ``settings`` defaults to :meth:`Settings.from_env`; ``overrides`` are Settings fields.
    ``exporter`` replaces the OTLP span exporter (tests pass an in-memory one);
    ``registry`` is the Prometheus registry to use (default: a new one for this app);
    ``log_stream`` replaces stdout for log lines.
    """
    from crm_observability.asgi import ObservabilityMiddleware

    existing = getattr(getattr(app, "state", None), _STATE_KEY, None)
    if isinstance(existing, Instrumentation):
        return existing
    if getattr(app, "middleware_stack", None) is not None:
        raise RuntimeError(
            "instrument(app) must be called before the application starts "
            "(Starlette cannot add middleware to a running app)"
        )
    if settings is None:
        settings = Settings.from_env(**overrides)
    elif overrides:
        settings = settings.replace(**overrides)

    configure_logging(settings, stream=log_stream)
    metrics = MetricsRegistry(settings, registry=registry)
    set_default_registry(metrics)
    tracing = configure_tracing(settings, exporter=exporter)
    health = HealthRegistry(settings, registry=metrics.registry, authorizer=health_authorizer)
    obs = Instrumentation(
        settings=settings,
        metrics=metrics,
        health=health,
        tracing=tracing,
        http_metrics=metrics.http_server_metrics(),
        metrics_app=metrics_asgi_app(metrics) if settings.metrics_enabled else None,
        access_log=log_access if settings.access_log else None,
        base_root_path=getattr(app, "root_path", "") or "",
    )
    disable_framework_tracing(app)

    # Outermost, around Starlette's ServerErrorMiddleware: unhandled errors are seen as 500s.
    build_inner = app.build_middleware_stack

    def build_middleware_stack() -> Any:
        return ObservabilityMiddleware(build_inner(), obs)

    app.build_middleware_stack = build_middleware_stack
    app.state.observability = obs
    return obs
