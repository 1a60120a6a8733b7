"""A global tracer provider that can be re-pointed.

OpenTelemetry lets the global provider be set once per process.  We install
this small provider once and point it at the latest :class:`TracingRuntime`'s
SDK provider, so ``configure_tracing`` can be called again (tests, a second
app) and tracers handed out earlier (module-level ``trace.get_tracer(...)``,
``@traced``) follow the new pipeline instead of keeping a stale one.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import trace

__all__ = ["SwitchingTracerProvider", "install", "installed"]


class SwitchingTracerProvider(trace.TracerProvider):
    """Delegates to ``current``; other attributes (``add_span_processor``...) forward too."""

    def __init__(self) -> None:
        self.current: trace.TracerProvider = trace.NoOpTracerProvider()
        self.generation = 0

    def point_to(self, provider: trace.TracerProvider) -> None:
        self.current = provider
        self.generation += 1  # tracers re-resolve on their next span

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> trace.Tracer:
        return _SwitchingTracer(
            self, instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes this class lacks: the SDK provider's API.
        return getattr(self.current, name)


class _SwitchingTracer(trace.Tracer):
    __slots__ = ("_args", "_generation", "_owner", "_tracer")

    def __init__(self, owner: SwitchingTracerProvider, *args: Any) -> None:
        self._owner = owner
        self._args = args
        self._generation = -1
        self._tracer: trace.Tracer = trace.NoOpTracer()

    def _real(self) -> trace.Tracer:
        owner = self._owner
        if self._generation != owner.generation:
            self._tracer = owner.current.get_tracer(*self._args)
            self._generation = owner.generation
        return self._tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._real().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._real().start_as_current_span(*args, **kwargs)


_lock = threading.Lock()
_installed: SwitchingTracerProvider | None = None


def installed() -> SwitchingTracerProvider | None:
    """Our global provider, if it is the process-wide one."""
    return _installed


def install(provider: trace.TracerProvider) -> bool:
    """Make ``provider`` the one behind the global API; False if someone else owns it."""
    global _installed
    with _lock:
        if _installed is None:
            current = trace.get_tracer_provider()
            if not isinstance(current, trace.ProxyTracerProvider):
                return False  # another SDK set-up came first; leave it alone
            switching = SwitchingTracerProvider()
            trace.set_tracer_provider(switching)
            if trace.get_tracer_provider() is not switching:  # lost a race
                return False
            _installed = switching
        _installed.point_to(provider)
        return True
