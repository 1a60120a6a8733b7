"""Health groups, concurrent evaluation with timeouts, caching and lifecycle state.

Each indicator runs as one shared task (single flight): probes that arrive while a
check is running wait for the same result, and a result is reused for
``settings.health_cache_ttl_s``.  Every check is cut off at its timeout and at the
overall deadline, so a probe answers in time even when a dependency hangs.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from prometheus_client import CollectorRegistry

from crm_observability import conventions as names
from crm_observability.health import endpoint, formats
from crm_observability.health.indicators import CallableHealthIndicator
from crm_observability.health.metrics import HealthMetrics
from crm_observability.health.model import Health, HealthIndicator, Status, aggregate, to_health
from crm_observability.settings import Settings

Authorizer = Callable[[Mapping[str, str]], bool | Awaitable[bool]]
# Rendering and sending take a few ms; keep the whole answer inside the 1 s probe timeout.
DEADLINE_MARGIN_S = 0.1


@dataclass(frozen=True, slots=True)
class CheckResult:
    health: Health
    duration_s: float
    checked_at: float  # wall clock, for health+json "time"
    critical: bool


@dataclass(frozen=True, slots=True)
class GroupResult:
    group: str | None  # None: every indicator
    status: Status
    checks: Mapping[str, CheckResult]
    degraded: tuple[str, ...]  # non-critical checks that are not UP


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    indicator: HealthIndicator
    groups: frozenset[str]
    timeout_s: float
    critical: bool
    in_all: bool = True
    instant: bool = False  # built-in state: evaluated inline, never cached


class _State:
    """A built-in indicator reading a flag of the registry."""

    def __init__(self, read: Callable[[], Health]) -> None:
        self._read = read

    async def check(self) -> Health:
        return self._read()


class HealthRegistry:
    """Indicators by name and group; also the ASGI app serving every health path."""

    def __init__(self, settings: Settings, *, registry: CollectorRegistry | None = None,
                 authorizer: Authorizer | None = None,
                 deadline_s: float | None = None) -> None:
        self.settings = settings
        self.authorizer = authorizer
        self.deadline_s = (settings.health_timeout_s + DEADLINE_MARGIN_S
                           if deadline_s is None else deadline_s)
        if self.deadline_s <= 0:
            raise ValueError(f"deadline_s must be positive, got {self.deadline_s}")
        self._entries: dict[str, _Entry] = {}
        self._groups: set[str] = set(names.HEALTH_GROUPS)
        self._cache: dict[str, tuple[float, CheckResult]] = {}
        self._inflight: dict[str, asyncio.Task[CheckResult]] = {}
        self._shutting_down = False
        self._started = False
        self._metrics = HealthMetrics.attach(registry, settings) if registry is not None else None
        self._add_state(names.HEALTH_PING, "liveness", lambda: Health.up())
        self._add_state(names.HEALTH_READINESS_STATE, "readiness", self._readiness_state)
        # Startup is left out of /actuator/health: a test client that never runs the
        # lifespan would otherwise see the whole service DOWN.
        self._add_state(names.HEALTH_STARTUP_STATE, "startup", self._startup_state,
                        in_all=False)

    # --- configuration ---------------------------------------------------------

    def add(self, name: str, indicator: HealthIndicator | Callable[[], Any], *,
            groups: Sequence[str] = ("readiness",), timeout_s: float | None = None,
            critical: bool = True) -> None:
        """Register a check. ``critical=False``: reported, but never takes a group down."""
        if not name or not isinstance(name, str):
            raise ValueError(f"health check name must be a non-empty string, got {name!r}")
        if name in self._entries:
            raise ValueError(f"health check {name!r} is already registered")
        if isinstance(groups, str) or not groups or not all(
                isinstance(g, str) and g for g in groups):
            raise ValueError(f"health check {name!r}: groups must be a non-empty list of names")
        timeout = self.settings.health_timeout_s if timeout_s is None else timeout_s
        if timeout <= 0:
            raise ValueError(f"health check {name!r}: timeout_s must be positive, got {timeout}")
        if not callable(getattr(indicator, "check", None)):
            if not callable(indicator):
                raise TypeError(f"health check {name!r}: expected a HealthIndicator or a "
                                f"callable, got {type(indicator).__name__}")
            indicator = CallableHealthIndicator(indicator, name=name)
        self._entries[name] = _Entry(name, cast(HealthIndicator, indicator), frozenset(groups),
                                     timeout, critical)
        self._groups.update(groups)

    def _add_state(self, name: str, group: str, read: Callable[[], Health], *,
                   in_all: bool = True) -> None:
        self._entries[name] = _Entry(name, _State(read), frozenset({group}),
                                     self.settings.health_timeout_s, True, in_all, True)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(sorted(self._groups))

    def has_group(self, group: str) -> bool:
        return group in self._groups

    # --- lifecycle -------------------------------------------------------------

    def begin_shutdown(self) -> None:
        """From now on readiness is OUT_OF_SERVICE (503) so load balancers drain."""
        self._shutting_down = True

    def mark_started(self) -> None:
        """Startup may now report UP (once its indicators are UP too)."""
        self._started = True

    def _readiness_state(self) -> Health:
        if self._shutting_down:
            return Health.out_of_service(reason="shutting down")
        return Health.up()

    def _startup_state(self) -> Health:
        return Health.up() if self._started else Health.down(reason="application not started")

    # --- evaluation ------------------------------------------------------------

    async def check_group(self, group: str | None) -> tuple[Status, dict[str, Any]]:
        """Status and the full Actuator-shaped body (details included) of ``group``."""
        result = await self.evaluate(group)
        return result.status, formats.actuator(result, show_details=True)

    async def evaluate(self, group: str | None) -> GroupResult:
        """Run (or reuse) the checks of ``group`` (None: all) concurrently.

        Failing, raising or hung checks become DOWN results; only an unknown group raises
        ``KeyError`` (the endpoint answers 404 before getting here).
        """
        if group is not None and group not in self._groups:
            raise KeyError(group)
        entries = [e for e in self._entries.values()
                   if (e.in_all if group is None else group in e.groups)]
        now = time.monotonic()
        results: dict[str, CheckResult] = {}
        pending: dict[str, Awaitable[CheckResult]] = {}
        for entry in entries:
            cached = self._cache.get(entry.name)
            if entry.instant:
                results[entry.name] = await self._run(entry)
            elif cached is not None and cached[0] > now:
                results[entry.name] = cached[1]
            else:
                pending[entry.name] = self._shared(entry)
        if pending:
            for name, result in zip(pending, await asyncio.gather(*pending.values()),
                                    strict=True):
                results[name] = result
        ordered = {name: results[name] for name in sorted(results)}
        status = aggregate(r.health.status for r in ordered.values() if r.critical)
        degraded = tuple(name for name, r in ordered.items()
                         if not r.critical and r.health.status.http_status != 200)
        outcome = GroupResult(group, status, ordered, degraded)
        if self._metrics is not None:
            self._metrics.record(outcome, self._groups_of)
        return outcome

    def _groups_of(self, name: str) -> frozenset[str]:
        entry = self._entries.get(name)
        return entry.groups if entry is not None else frozenset()

    def _shared(self, entry: _Entry) -> Awaitable[CheckResult]:
        task = self._inflight.get(entry.name)
        loop = asyncio.get_running_loop()
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._run(entry), name=f"health:{entry.name}")
            self._inflight[entry.name] = task
        # shield: one impatient prober must not cancel the check others are waiting for
        return asyncio.shield(task)

    async def _run(self, entry: _Entry) -> CheckResult:
        timeout = min(entry.timeout_s, self.deadline_s)
        start = time.perf_counter()
        try:
            outcome: Any = entry.indicator.check()  # a sync check() is tolerated too
            if inspect.isawaitable(outcome):
                outcome = await asyncio.wait_for(outcome, timeout)
            health = to_health(outcome)
        except TimeoutError:
            health = Health.down(error=f"timeout after {timeout:g}s")
        except Exception as exc:
            health = Health.down(error=exc)
        result = CheckResult(health, time.perf_counter() - start, time.time(), entry.critical)
        if not entry.instant:
            self._cache[entry.name] = (time.monotonic() + self.settings.health_cache_ttl_s,
                                       result)
            if self._inflight.get(entry.name) is asyncio.current_task():
                del self._inflight[entry.name]
        return result

    # --- HTTP ------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        """True for every path this registry answers (see :mod:`.endpoint`)."""
        return endpoint.route(path) is not None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await endpoint.serve(self, scope, receive, send)

    def __repr__(self) -> str:
        return f"HealthRegistry(checks={sorted(self._entries)}, groups={self.groups})"


__all__ = ["Authorizer", "CheckResult", "GroupResult", "HealthRegistry"]
