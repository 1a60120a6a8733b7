"""The process default MetricsRegistry and the module-level ``counter``/``histogram``/
``gauge``/``timed`` that act on it.

Module-level metrics are declared at import time, often before ``instrument()``
installs the app's registry with :func:`set_default_registry`.  So they return
proxies that re-resolve on the default registry in use (an identity check per
call), and never keep writing into a registry nobody scrapes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from crm_observability import conventions as names
from crm_observability.metrics.guard import HistogramFamily
from crm_observability.metrics.registry import MetricsRegistry
from crm_observability.metrics.timing import Timed
from crm_observability.settings import Settings

_lock = threading.RLock()
_default: MetricsRegistry | None = None
# Strong references: a callback gauge declared without keeping the result must
# still be replayed.  Keyed by declaration, so re-declaring never grows it.
_proxies: dict[tuple[Any, ...], _Proxy] = {}


def get_default_registry() -> MetricsRegistry:
    """The process default, created from ``Settings.from_env()`` on first use."""
    current = _default
    if current is not None:
        return current
    with _lock:
        if _default is None:
            set_default_registry(MetricsRegistry(Settings.from_env()))
        assert _default is not None
        return _default


def set_default_registry(metrics: MetricsRegistry) -> None:
    """Make ``metrics`` the default (``instrument()`` does this for its app).

    Module-level metrics are declared on it at once, so callback gauges and
    zero-valued counters show up in its exposition before first use.
    """
    global _default
    _default = metrics
    for proxy in list(_proxies.values()):
        proxy.resolve()


class _Proxy:
    """One declaration, replayed on whichever registry is the default."""

    __slots__ = ("_args", "_kind", "_kwargs", "_registry", "_target")

    def __init__(self, kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._kind = kind
        self._args = args
        self._kwargs = kwargs
        self._registry: MetricsRegistry | None = None
        self._target: Any = None
        self.resolve()  # declare now: a conflicting declaration fails at import time

    def resolve(self) -> Any:
        registry = _default if _default is not None else get_default_registry()
        if registry is not self._registry:
            target = getattr(registry, self._kind)(*self._args, **self._kwargs)
            self._target = target._child if self._kind == "timed" else target
            self._registry = registry
        return self._target

    def labels(self, *values: object, **kw: object) -> Any:
        """The bound child on the current default registry (bind per use, or re-bind
        after ``instrument()``)."""
        return self.resolve().labels(*values, **kw)

    def __getattr__(self, attr: str) -> Any:
        # inc / dec / set / observe / set_function ... of the current target
        return getattr(self.resolve(), attr)


def _proxy(kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Proxy:
    # The callback is not part of the key: declaring again replaces it (last wins).
    shape = sorted((k, repr(v)) for k, v in kwargs.items() if k != "callback")
    key = (kind, *args, *shape)
    with _lock:
        found = _proxies.get(key)
        if found is None:
            found = _proxies[key] = _Proxy(kind, args, kwargs)
        elif kwargs.get("callback") is not None:
            found._kwargs = kwargs
            found._registry = None  # re-declare now, with the new callback
            found.resolve()
        return found


def counter(name: str, documentation: str, labelnames: Sequence[str] = (), *,
            unit: str = "") -> Any:
    """A counter on the default registry (see :meth:`MetricsRegistry.counter`)."""
    return _proxy("counter", (name, documentation, tuple(labelnames)), {"unit": unit})


def histogram(name: str, documentation: str, labelnames: Sequence[str] = (), *,
              buckets: Sequence[float] = names.HTTP_DURATION_BUCKETS) -> Any:
    """A histogram on the default registry (see :meth:`MetricsRegistry.histogram`)."""
    return _proxy("histogram", (name, documentation, tuple(labelnames)),
                  {"buckets": tuple(buckets)})


def gauge(name: str, documentation: str, labelnames: Sequence[str] = (), *,
          callback: Any = None, multiprocess_mode: Any = "livesum") -> Any:
    """A gauge on the default registry (see :meth:`MetricsRegistry.gauge`)."""
    return _proxy("gauge", (name, documentation, tuple(labelnames)),
                  {"callback": callback, "multiprocess_mode": multiprocess_mode})


def timed(name_or_histogram: str | HistogramFamily, documentation: str = "",
          labelnames: Sequence[str] = (), **labels: object) -> Timed:
    """``@timed`` on the default registry, following it when it changes."""
    if not isinstance(name_or_histogram, str):
        return MetricsRegistry.timed(get_default_registry(), name_or_histogram,
                                     documentation, labelnames, **labels)
    proxy = _proxy("timed", (name_or_histogram, documentation, tuple(labelnames)), labels)
    return Timed(resolve=proxy.resolve)
