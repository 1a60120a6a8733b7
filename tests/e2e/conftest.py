"""Module fixtures (stopped with the module, so no traffic outlives it):
four reference services under uvicorn, Prometheus scraping them
with the committed rule files, and steady traffic with real tokens.

SQLite files in a temporary directory; the read cache on the shared Redis
(127.0.0.1:6379), database 14 only, flushed before and after.  In CI
(``CI=true``) a missing Redis or Prometheus fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from crm_observability import conventions as names
from crm_observability.generators.artifacts import load_slo_specs
from crm_observability.generators.deploy.analysis import http_buckets
from crm_observability.slo.model import SLOSpec

from .stack import (
    ROOT,
    SERVICES,
    SERVICES_JOB,
    Process,
    free_port,
    log_tail,
    missing,
    service_env,
    service_name,
    start_prometheus,
    start_service,
    wait_ready,
)
from .traffic import Traffic

REDIS_URL = os.environ.get("CRM_E2E_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "e2e-only-secret-0123456789abcdef0123456789"
TENANT = "e2e"
TARGETS_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Live:
    """What the tests need: Prometheus' URL and the traffic driver."""

    prometheus: str
    traffic: Traffic
    work: Path  # the processes' logs, databases and Prometheus' config and data


@pytest.fixture(scope="module")
def slo_specs() -> list[SLOSpec]:
    return load_slo_specs(ROOT)


@pytest.fixture(scope="module")
def e2e_redis() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        missing(f"Redis at {REDIS_URL} unavailable: {exc}")
    client.flushdb()  # database 14 only: the shared server's other databases are not ours
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


def token(roles: str) -> str:
    """A token from the real CLI (``crm-services token``), signed with the services' secret."""
    script = Path(sys.executable).with_name("crm-services")  # the installed entry point
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "reference_services.cli"]
    done = subprocess.run(
        [*argv, "token", "--tenant", TENANT, "--user", f"e2e-{roles.replace(',', '-')}",
         "--roles", roles],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "CRM_JWT_SECRET": SECRET, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, f"crm-services token failed: {done.stderr.strip()}"
    return done.stdout.strip()


def wait_targets_up(prometheus: str, count: int, timeout_s: float = TARGETS_TIMEOUT_S) -> None:
    """Until Prometheus has scraped each of the ``count`` service targets successfully once
    (a busy machine may miss the 1 s scrape timeout now and then; a rate over 15 s shrugs)."""
    deadline = time.monotonic() + timeout_s
    scraped: set[str] = set()
    last: dict[str, str] = {}
    while len(scraped) < count:
        try:
            active = httpx.get(f"{prometheus}/api/v1/targets", timeout=2).json()["data"][
                "activeTargets"]
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            active, last["prometheus"] = [], repr(exc)
        for target in active:
            if target["labels"].get(names.LABEL_JOB) == SERVICES_JOB:
                last[target["scrapeUrl"]] = f"{target['health']} {target['lastError']}"
                if target["health"] == "up":
                    scraped.add(target["scrapeUrl"])
        if len(scraped) < count:
            assert time.monotonic() < deadline, "service targets never scraped:\n" + "\n".join(
                f"{url}: {state}" for url, state in last.items() if url not in scraped)
            time.sleep(0.2)


def start_stack(work: Path, redis_url: str, specs: list[SLOSpec],
                processes: list[Process]) -> tuple[str, Traffic]:
    """Services and Prometheus, ready; ``processes`` collects every child for the caller
    to stop, even when the start fails half-way.  Returns Prometheus' URL and a traffic
    driver (not started) with a writer's and a reader's token."""
    ports = {svc: free_port() for svc in SERVICES}
    with ThreadPoolExecutor(2) as pool:  # the tokens while the services import
        tokens = pool.map(token, ("crm.read,crm.write", "crm.read"))
        for svc in SERVICES:
            env = service_env(svc, ports, work, secret=SECRET, redis_url=redis_url,
                              http_buckets=http_buckets(specs, service_name(svc)))
            processes.append(start_service(svc, ports[svc], env, work))
        writer, reader = tokens
    prometheus = start_prometheus([f"127.0.0.1:{ports[svc]}" for svc in SERVICES], work)
    processes.append(prometheus)
    wait_ready(processes[:-1], names.LIVENESS_PATH)
    wait_ready(processes[-1:], "/-/ready")
    wait_targets_up(prometheus.url, len(SERVICES))
    return prometheus.url, Traffic({svc: f"http://127.0.0.1:{ports[svc]}" for svc in SERVICES},
                                   writer, reader)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, e2e_redis: str,
         slo_specs: list[SLOSpec]) -> Iterator[Live]:
    work = tmp_path_factory.mktemp("e2e")
    processes: list[Process] = []
    traffic: Traffic | None = None
    try:
        try:
            prometheus, traffic = start_stack(work, e2e_redis, slo_specs, processes)
        except AssertionError as exc:  # say what each process logged
            tails = "\n".join(f"--- {p.name} ({p.log}):\n{log_tail(p.log, 5)}"
                              for p in processes)
            raise AssertionError(f"{exc}\n{tails}") from None
        traffic.start()
        yield Live(prometheus, traffic, work)
    finally:
        if traffic is not None:
            traffic.stop()
        for proc in reversed(processes):
            proc.stop()
