"""crm-observability: one-call observability for CRM services, and SLOs as code.

``import crm_observability`` is cheap: the public names below are loaded on
first use, so the OpenTelemetry SDK and friends are imported only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ContextThreadPoolExecutor": "crm_observability.context",
    "Health": "crm_observability.health",
    "HealthIndicator": "crm_observability.health",
    "HealthRegistry": "crm_observability.health",
    "Instrumentation": "crm_observability.instrumentation",
    "MetricsRegistry": "crm_observability.metrics",
    "Settings": "crm_observability.settings",
    "SettingsError": "crm_observability.settings",
    "Status": "crm_observability.health",
    "bind_context": "crm_observability.context",
    "clear_context": "crm_observability.context",
    "configure_logging": "crm_observability.logging",
    "configure_tracing": "crm_observability.tracing",
    "counter": "crm_observability.metrics",
    "gauge": "crm_observability.metrics",
    "get_context": "crm_observability.context",
    "get_logger": "crm_observability.logging",
    "histogram": "crm_observability.metrics",
    "instrument": "crm_observability.instrumentation",
    "run_in_executor": "crm_observability.context",
    "timed": "crm_observability.metrics",
    "traced": "crm_observability.tracing",
}

__all__ = [
    "ContextThreadPoolExecutor",
    "Health",
    "HealthIndicator",
    "HealthRegistry",
    "Instrumentation",
    "MetricsRegistry",
    "Settings",
    "SettingsError",
    "Status",
    "__version__",
    "bind_context",
    "clear_context",
    "configure_logging",
    "configure_tracing",
    "counter",
    "gauge",
    "get_context",
    "get_logger",
    "histogram",
    "instrument",
    "run_in_executor",
    "timed",
    "traced",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crm_observability' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from crm_observability.context import (
        ContextThreadPoolExecutor,
        bind_context,
        clear_context,
        get_context,
        run_in_executor,
    )
    from crm_observability.health import Health, HealthIndicator, HealthRegistry, Status
    from crm_observability.instrumentation import Instrumentation, instrument
    from crm_observability.logging import configure_logging, get_logger
    from crm_observability.metrics import MetricsRegistry, counter, gauge, histogram, timed
    from crm_observability.settings import Settings, SettingsError
    from crm_observability.tracing import configure_tracing, traced
