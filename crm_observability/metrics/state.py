"""Per-CollectorRegistry bookkeeping shared by every MetricsRegistry built on it.

Keyed weakly by the CollectorRegistry, so a test's fresh registry takes its
state with it; nothing here is shared between registries.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.registry import Collector


@dataclass
class RegistryState:
    """What one CollectorRegistry holds, shared by every MetricsRegistry on it."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    declared: dict[str, tuple[tuple[Any, ...], Any]] = field(default_factory=dict)
    overflow: Counter | None = None
    # collectors whose output is the same in every worker (kept in multiprocess mode)
    scrape_safe: list[Collector] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


_STATES: weakref.WeakKeyDictionary[CollectorRegistry, RegistryState] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def state_for(registry: CollectorRegistry) -> RegistryState:
    with _STATES_LOCK:
        state = _STATES.get(registry)
        if state is None:
            state = _STATES[registry] = RegistryState()
        return state


def scrape_safe_collectors(registry: CollectorRegistry) -> list[Collector]:
    """Collectors of ``registry`` whose values do not depend on the worker process."""
    return list(state_for(registry).scrape_safe)
