"""Built-in indicators against real SQLite, PostgreSQL, Redis, HTTP servers and disks."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio
import requests
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from crm_observability import conventions as names
from crm_observability.health import (
    CallableHealthIndicator,
    DiskSpaceHealthIndicator,
    Health,
    HealthRegistry,
    HttpHealthIndicator,
    RedisHealthIndicator,
    SqlAlchemyHealthIndicator,
    Status,
)
from crm_observability.settings import Settings
from tests.health.helpers import fetch, require_binary, run, wait_until
from tests.support import free_port, uvicorn_server

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
IN_CI = os.environ.get("CI", "").lower() == "true"


# --- SQL -------------------------------------------------------------------------

def test_sqlite_engine_up_with_pool_figures(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    health = run(SqlAlchemyHealthIndicator(engine).check())
    assert health.status is Status.UP
    assert health.details["database"] == "sqlite"
    assert health.details["validation_query"] == "SELECT 1"
    assert health.details["pool"] == {"size": 5, "checked_out": 0, "overflow": 0,
                                      "checked_in": 1}
    # NullPool has no figures to report
    nullpool = create_engine(f"sqlite:///{tmp_path / 'crm.db'}", poolclass=NullPool)
    assert run(SqlAlchemyHealthIndicator(nullpool).check()).details["pool"] == {}


def test_sqlite_failing_query_is_down(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    health = run(SqlAlchemyHealthIndicator(engine, query="SELECT * FROM missing").check())
    assert health.status is Status.DOWN
    assert health.details["error"] == "OperationalError: no such table: missing"


def test_postgres_up_and_recovers_after_its_connection_is_killed() -> None:
    psql = require_binary("psql")
    app_name = f"crm-health-test-{os.getpid()}"
    engine = create_engine(PG_URL, connect_args={"application_name": app_name})
    indicator = SqlAlchemyHealthIndicator(engine)
    try:
        health = run(indicator.check())
        assert health.status is Status.UP, health.details
        assert health.details["database"] == "postgresql"
        assert health.details["pool"]["checked_in"] == 1
        # A database restart kills pooled connections: the check reports it, then recovers.
        subprocess.run([psql, "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-Atc",
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE application_name = '{app_name}'"],
                       check=True, capture_output=True, timeout=10)
        broken = run(indicator.check())
        assert broken.status is Status.DOWN
        assert broken.details["error"] == (
            "AdminShutdown: terminating connection due to administrator command")
        assert run(indicator.check()).status is Status.UP
    finally:
        engine.dispose()


def test_postgres_closed_port_is_down_fast() -> None:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    health = run(SqlAlchemyHealthIndicator(engine).check())
    assert health.status is Status.DOWN
    assert "Connection refused" in health.details["error"]
    assert "sqlalche.me" not in health.details["error"]


def test_postgres_async_engine() -> None:
    if importlib.util.find_spec("greenlet") is None:  # SQLAlchemy's asyncio layer needs it
        if IN_CI:
            pytest.fail("greenlet (SQLAlchemy[asyncio]) is required in CI")
        pytest.skip("greenlet not installed")
    from sqlalchemy.ext.asyncio import create_async_engine

    async def scenario() -> tuple[Health, Health]:
        engine = create_async_engine(PG_URL)
        closed = create_async_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
        try:
            return (await SqlAlchemyHealthIndicator(engine).check(),
                    await SqlAlchemyHealthIndicator(closed).check())
        finally:
            await engine.dispose()
            await closed.dispose()

    up, down = run(scenario())
    assert up.status is Status.UP and up.details["pool"]["checked_in"] == 1
    assert down.status is Status.DOWN and "Connection refused" in down.details["error"]


# --- Redis -----------------------------------------------------------------------

def test_redis_url_and_clients_against_shared_redis() -> None:
    for target in (REDIS_URL, redis.Redis.from_url(REDIS_URL)):
        health = run(RedisHealthIndicator(target).check())
        assert health.status is Status.UP, health.details
        assert health.details["version"].count(".") >= 1

    async def with_async_client() -> Health:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            return await RedisHealthIndicator(client).check()
        finally:
            await client.aclose()

    health = run(with_async_client())
    assert health.status is Status.UP and "version" in health.details


def test_redis_closed_port_is_down() -> None:
    health = run(RedisHealthIndicator(f"redis://127.0.0.1:{free_port()}/0").check())
    assert health.status is Status.DOWN
    assert health.details["error"].startswith("ConnectionError: ")


def test_redis_without_info_still_up() -> None:
    class PingOnly:
        def ping(self) -> bool:
            return True

        def info(self, section: str) -> Any:
            return None  # e.g. INFO renamed away on a managed Redis

    assert run(RedisHealthIndicator(PingOnly()).check()) == Health.up()


def test_redis_url_without_redis_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"pip install 'crm-observability\[redis\]'"):
        RedisHealthIndicator(REDIS_URL)


class PrivateRedis:
    """A redis-server of our own on a free port, so stopping it disturbs nobody."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        wait_until(lambda: _pings(client))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture()
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(require_binary("redis-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_readiness_follows_a_private_redis_stopped_and_restarted(
        private_redis: PrivateRedis) -> None:
    reg = HealthRegistry(Settings(health_cache_ttl_s=0.0, health_show_details="always"))
    reg.add("redis", RedisHealthIndicator(f"redis://127.0.0.1:{private_redis.port}/0"))
    assert fetch(reg, names.READYZ_PATH).status_code == 200
    private_redis.stop()
    resp = fetch(reg, names.READYZ_PATH)
    assert resp.status_code == 503
    assert resp.json()["components"]["redis"]["details"]["error"].startswith(
        "ConnectionError")
    assert fetch(reg, names.LIVEZ_PATH).status_code == 200
    private_redis.start()
    assert fetch(reg, names.READYZ_PATH).status_code == 200


# --- HTTP dependency -------------------------------------------------------------

async def _slow(request: Request) -> PlainTextResponse:
    await asyncio.sleep(2)
    return PlainTextResponse("late")


DEPENDENCY = Starlette(routes=[
    Route("/health", lambda r: PlainTextResponse("ok")),
    Route("/broken", lambda r: PlainTextResponse("bad gateway", status_code=502)),
    Route("/slow", _slow),
])


@pytest.fixture(scope="module")
def dependency() -> Iterator[str]:
    with uvicorn_server(DEPENDENCY) as base:
        yield base


def test_http_indicator_default_client(dependency: str) -> None:
    host = dependency.removeprefix("http://")
    indicator = HttpHealthIndicator(f"http://user:secret@{host}/health?token=abc")

    async def twice() -> tuple[Health, Health]:
        first = await indicator.check()
        second = await indicator.check()
        await indicator.aclose()
        return first, second

    first, second = run(twice())
    assert first == second == Health.up(url=f"{dependency}/health", status_code=200)
    # a new event loop gets a new client
    assert run(indicator.check()).status is Status.UP
    broken = run(HttpHealthIndicator(f"{dependency}/broken").check())
    assert broken == Health.down(error="HTTP 502", url=f"{dependency}/broken",
                                 status_code=502)


def test_http_indicator_with_given_clients(dependency: str) -> None:
    with requests.Session() as session:
        assert run(HttpHealthIndicator(f"{dependency}/health", client=session).check()
                   ).status is Status.UP
        assert run(HttpHealthIndicator(f"{dependency}/broken", client=session).check()
                   ).details["status_code"] == 502

    async def with_async_client() -> Health:
        async with httpx.AsyncClient() as client:
            return await HttpHealthIndicator(f"{dependency}/health", client=client).check()

    assert run(with_async_client()).status is Status.UP


def test_http_indicator_timeout_and_refused(dependency: str) -> None:
    slow = run(HttpHealthIndicator(f"{dependency}/slow", timeout_s=0.2).check())
    assert slow.status is Status.DOWN
    assert slow.details["error"].startswith("ReadTimeout")
    refused = run(HttpHealthIndicator(f"http://127.0.0.1:{free_port()}/").check())
    assert refused.status is Status.DOWN
    assert refused.details["error"].startswith("ConnectError")


# --- disk and callables ----------------------------------------------------------

def test_disk_space(tmp_path: Path) -> None:
    up = run(DiskSpaceHealthIndicator(str(tmp_path), threshold_bytes=1).check())
    assert up.status is Status.UP
    assert up.details["free"] > 1 and up.details["total"] >= up.details["free"]
    full = run(DiskSpaceHealthIndicator(str(tmp_path), threshold_bytes=2**62).check())
    assert full.status is Status.DOWN and "below threshold" in full.details["error"]
    missing = run(DiskSpaceHealthIndicator(str(tmp_path / "absent")).check())
    assert missing.details["error"].startswith("FileNotFoundError")


def test_callables_sync_async_and_awaitable_results() -> None:
    async def async_fn() -> Status:
        return Status.OUT_OF_SERVICE

    class AsyncCallable:
        async def __call__(self) -> dict[str, Any]:
            return {"status": "UP", "lag": 0}

    seen_threads: list[str] = []

    def sync_fn() -> bool:
        seen_threads.append(threading.current_thread().name)
        return True

    assert run(CallableHealthIndicator(async_fn).check()).status is Status.OUT_OF_SERVICE
    assert run(CallableHealthIndicator(AsyncCallable()).check()).details == {"lag": 0}
    assert run(CallableHealthIndicator(sync_fn, name="mine").check()).status is Status.UP
    assert seen_threads == ["crm-health-mine"]  # never on the event loop's thread
    assert run(CallableHealthIndicator(lambda: async_fn()).check()).status is (
        Status.OUT_OF_SERVICE)
    with pytest.raises(ZeroDivisionError):
        run(CallableHealthIndicator(lambda: 1 / 0).check())
