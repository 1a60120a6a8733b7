"""Groups, concurrency, timeouts, caching, lifecycle and metrics of HealthRegistry."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Gauge

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.health import Health, HealthRegistry, Status
from crm_observability.settings import Settings
from tests.health.helpers import run, samples


def settings(**kw: Any) -> Settings:
    return Settings(service_name="contacts", environment="testing", **kw)


class Counting:
    """An indicator that counts its runs and takes ``delay`` seconds."""

    def __init__(self, delay: float = 0.0, health: Health | None = None) -> None:
        self.calls = 0
        self.delay = delay
        self.health = health or Health.up()

    async def check(self) -> Health:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.health


def test_default_groups_and_builtin_components() -> None:
    reg = HealthRegistry(settings())
    status, body = run(reg.check_group("liveness"))
    assert status is Status.UP and set(body["components"]) == {names.HEALTH_PING}
    status, body = run(reg.check_group("readiness"))
    assert status is Status.UP and set(body["components"]) == {names.HEALTH_READINESS_STATE}
    # startup is DOWN until the application says it has started
    status, body = run(reg.check_group("startup"))
    assert status is Status.DOWN
    assert body["components"][names.HEALTH_STARTUP_STATE]["details"] == {
        "reason": "application not started"}
    reg.mark_started()
    assert run(reg.check_group("startup"))[0] is Status.UP
    assert reg.groups == ("liveness", "readiness", "startup")
    with pytest.raises(KeyError):
        run(reg.evaluate("nope"))


def test_liveness_never_depends_on_readiness_checks() -> None:
    reg = HealthRegistry(settings())
    reg.add("db", lambda: False)
    assert run(reg.check_group("readiness"))[0] is Status.DOWN
    assert run(reg.check_group("liveness"))[0] is Status.UP


def test_all_groups_union_and_custom_group() -> None:
    reg = HealthRegistry(settings())
    reg.add("db", lambda: True, groups=("readiness", "startup"))
    reg.add("batch", lambda: Status.OUT_OF_SERVICE, groups=("jobs",))
    status, body = run(reg.check_group(None))
    # the root holds every check except the startup gate
    assert set(body["components"]) == {"batch", "db", names.HEALTH_PING,
                                       names.HEALTH_READINESS_STATE}
    assert status is Status.OUT_OF_SERVICE
    assert run(reg.check_group("jobs"))[0] is Status.OUT_OF_SERVICE
    reg.mark_started()
    assert run(reg.check_group("startup"))[0] is Status.UP
    assert "jobs" in reg.groups


def test_startup_needs_its_indicators_up_too() -> None:
    reg = HealthRegistry(settings())
    reg.add("migrations", lambda: False, groups=("startup",))
    reg.mark_started()
    status, body = run(reg.check_group("startup"))
    assert status is Status.DOWN
    assert body["components"][names.HEALTH_STARTUP_STATE]["status"] == "UP"


def test_shutdown_takes_readiness_out_of_service_but_not_liveness() -> None:
    reg = HealthRegistry(settings())
    reg.begin_shutdown()
    status, body = run(reg.check_group("readiness"))
    assert status is Status.OUT_OF_SERVICE
    assert body["components"][names.HEALTH_READINESS_STATE]["details"] == {
        "reason": "shutting down"}
    assert run(reg.check_group("liveness"))[0] is Status.UP


def test_checks_run_concurrently() -> None:
    reg = HealthRegistry(settings(health_timeout_s=2.0))
    for i in range(5):
        reg.add(f"slow{i}", Counting(delay=0.2))
    start = time.perf_counter()
    status, _ = run(reg.check_group("readiness"))
    assert status is Status.UP
    assert time.perf_counter() - start < 0.6  # 5 x 0.2 s in sequence would be 1 s


def test_hung_check_is_down_after_its_timeout_within_one_second() -> None:
    reg = HealthRegistry(settings())  # default timeout 0.8 s

    async def hang() -> bool:
        await asyncio.sleep(10)
        return True

    reg.add("hung", hang)
    reg.add("fine", lambda: True)
    start = time.perf_counter()
    status, body = run(reg.check_group("readiness"))
    elapsed = time.perf_counter() - start
    assert status is Status.DOWN
    assert body["components"]["hung"] == {"status": "DOWN",
                                          "details": {"error": "timeout after 0.8s"}}
    assert body["components"]["fine"]["status"] == "UP"
    assert 0.75 < elapsed < 1.0


def test_overall_deadline_caps_long_per_check_timeouts() -> None:
    reg = HealthRegistry(settings(health_timeout_s=0.1))
    assert reg.deadline_s == pytest.approx(0.2)
    reg.add("slow", Counting(delay=5), timeout_s=3.0)
    start = time.perf_counter()
    _, body = run(reg.check_group("readiness"))
    assert time.perf_counter() - start < 0.5
    assert body["components"]["slow"]["details"]["error"] == "timeout after 0.2s"


def test_raising_indicator_is_down_with_type_and_message() -> None:
    class Broken:
        async def check(self) -> Health:
            raise ConnectionError("refused by 10.0.0.1")

    reg = HealthRegistry(settings())
    reg.add("broken", Broken())
    status, body = run(reg.check_group("readiness"))
    assert status is Status.DOWN
    assert body["components"]["broken"]["details"] == {
        "error": "ConnectionError: refused by 10.0.0.1"}


def test_sync_check_method_is_tolerated() -> None:
    class SyncCheck:
        def check(self) -> Health:
            return Health.up(kind="sync")

    reg = HealthRegistry(settings())
    reg.add("sync", SyncCheck())  # type: ignore[arg-type]
    assert run(reg.check_group("readiness"))[1]["components"]["sync"]["details"] == {
        "kind": "sync"}


def test_non_critical_failure_degrades_but_keeps_group_up() -> None:
    reg = HealthRegistry(settings())
    reg.add("deals-service", lambda: False, critical=False)
    result = run(reg.evaluate("readiness"))
    assert result.status is Status.UP
    assert result.degraded == ("deals-service",)
    assert result.checks["deals-service"].health.status is Status.DOWN


def test_results_are_cached_for_the_ttl() -> None:
    probe = Counting()
    reg = HealthRegistry(settings(health_cache_ttl_s=0.3))
    reg.add("db", probe)
    run(reg.check_group("readiness"))
    run(reg.check_group(None))
    assert probe.calls == 1
    time.sleep(0.35)
    run(reg.check_group("readiness"))
    assert probe.calls == 2


def test_concurrent_probes_share_one_evaluation() -> None:
    probe = Counting(delay=0.1)
    reg = HealthRegistry(settings(health_cache_ttl_s=0.0))
    reg.add("db", probe)

    async def many() -> list[Status]:
        results = await asyncio.gather(*(reg.evaluate("readiness") for _ in range(20)))
        return [r.status for r in results]

    assert run(many()) == [Status.UP] * 20
    assert probe.calls == 1
    run(reg.evaluate("readiness"))  # ttl 0: the next probe evaluates again
    assert probe.calls == 2


def test_hung_sync_check_does_not_pile_up_threads() -> None:
    release = threading.Event()
    calls: list[int] = []

    def stuck() -> bool:
        calls.append(1)
        release.wait(5)
        return True

    reg = HealthRegistry(settings(health_timeout_s=0.1, health_cache_ttl_s=0.0))
    reg.add("stuck", stuck)
    first = run(reg.evaluate("readiness"))
    assert first.checks["stuck"].health.details["error"] == "timeout after 0.1s"
    second = run(reg.evaluate("readiness"))
    assert second.checks["stuck"].health.details["error"].startswith(
        "StillRunningError: previous check still running after")
    assert len(calls) == 1
    release.set()
    threads = [t for t in threading.enumerate() if t.name == "crm-health-stuck"]
    for t in threads:
        t.join(2)
    assert run(reg.evaluate("readiness")).status is Status.UP


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("", lambda: True), {}, "non-empty string"),
    (("db", lambda: True), {"groups": ()}, "groups must be"),
    (("db", lambda: True), {"groups": "readiness"}, "groups must be"),
    (("db", lambda: True), {"timeout_s": 0}, "timeout_s must be positive"),
    (("ping", lambda: True), {}, "already registered"),
])
def test_add_rejects_bad_configuration(args: tuple[Any, ...], kwargs: dict[str, Any],
                                       message: str) -> None:
    reg = HealthRegistry(settings())
    with pytest.raises(ValueError, match=message):
        reg.add(*args, **kwargs)


def test_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="deadline_s must be positive, got 0"):
        HealthRegistry(settings(), deadline_s=0)
    assert HealthRegistry(settings(), deadline_s=0.5).deadline_s == 0.5


def test_add_rejects_non_callables() -> None:
    with pytest.raises(TypeError, match="expected a HealthIndicator or a callable, got int"):
        HealthRegistry(settings()).add("x", 3)  # type: ignore[arg-type]


def test_metrics_exported_with_common_labels() -> None:
    registry = CollectorRegistry()
    reg = HealthRegistry(settings(), registry=registry)
    reg.add("db", lambda: True, groups=("readiness", "startup"))
    reg.add("cache", lambda: False)
    run(reg.evaluate("readiness"))
    common = (("application", "crm-platform"), ("environment", "testing"),
              ("service", "contacts"))

    def key(**labels: str) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((*common, *labels.items())))

    status = samples(registry, names.HEALTH_CHECK_STATUS)
    assert status[key(check="db", group="readiness")] == 1.0
    assert status[key(check="db", group="startup")] == 1.0
    assert status[key(check="cache", group="readiness")] == 0.0
    groups = samples(registry, names.HEALTH_GROUP_STATUS)
    assert groups == {key(group="readiness"): 0.0}
    durations = samples(registry, names.HEALTH_CHECK_DURATION)
    assert set(durations) == {key(check=c) for c in ("cache", "db",
                                                     names.HEALTH_READINESS_STATE)}
    assert all(0.0 <= v < 1.0 for v in durations.values())
    run(reg.evaluate("liveness"))
    assert samples(registry, names.HEALTH_GROUP_STATUS)[key(group="liveness")] == 1.0


def test_second_registry_on_same_collector_registry_replaces_the_first() -> None:
    registry = CollectorRegistry()
    first = HealthRegistry(settings(), registry=registry)
    first.add("old", lambda: True)
    run(first.evaluate("readiness"))
    second = HealthRegistry(settings(), registry=registry)
    second.add("new", lambda: True)
    run(second.evaluate("readiness"))
    checks = {dict(k)["check"] for k in samples(registry, names.HEALTH_CHECK_STATUS)}
    assert checks == {"new", names.HEALTH_READINESS_STATE}


def test_metric_name_conflict_is_reported_and_health_still_works(
        capsys: pytest.CaptureFixture[str]) -> None:
    errors.reset_for_tests()
    registry = CollectorRegistry()
    Gauge(names.HEALTH_GROUP_STATUS, "taken by someone else", registry=registry)
    reg = HealthRegistry(settings(), registry=registry)
    assert run(reg.evaluate("liveness")).status is Status.UP
    assert errors.failure_counts() == {"health.metrics": 1}
    assert "Duplicated timeseries" in capsys.readouterr().err


def test_metrics_update_failure_is_contained() -> None:
    errors.reset_for_tests()
    registry = CollectorRegistry()
    reg = HealthRegistry(settings(), registry=registry)
    result = run(reg.evaluate("liveness"))

    def broken(name: str) -> frozenset[str]:
        raise RuntimeError("metrics broke")

    assert reg._metrics is not None
    reg._metrics.record(result, broken)
    assert errors.failure_counts() == {"health.metrics": 1}
    assert "RuntimeError" not in repr(reg)
    assert repr(reg).startswith("HealthRegistry(checks=")


def test_late_result_of_a_timed_out_thread_is_dropped_and_next_run_is_fresh() -> None:
    def slow() -> bool:
        time.sleep(0.3)
        return True

    reg = HealthRegistry(settings(health_timeout_s=0.1, health_cache_ttl_s=0.0))
    reg.add("slow", slow)

    async def scenario() -> tuple[Status, Status]:
        first = await reg.evaluate("readiness")
        await asyncio.sleep(0.4)  # the thread finishes while this loop still runs
        reg.add("fast", lambda: True, groups=("other",))
        second = await reg.evaluate("other")
        return first.status, second.status

    assert run(scenario()) == (Status.DOWN, Status.UP)
