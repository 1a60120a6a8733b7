"""Fixtures for the reference services: SQLite or PostgreSQL, Redis on or off.

PostgreSQL: a fresh database per test session on the shared server
(127.0.0.1:5432, user postgres), dropped afterwards.  Redis: the shared server
(127.0.0.1:6379), database 15 only, flushed before and after.  In CI
(``CI=true``) a missing server fails the tests instead of skipping them.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from crm_observability import Settings
from reference_services.common.auth import DEFAULT_ROLES, issue_token
from reference_services.common.config import ServiceConfig

PG_ADMIN_URL = os.environ.get("CRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "tests-only-secret-0123456789abcdef0123456789"


class SharedExporter(InMemorySpanExporter):
    """One in-memory exporter behind several services' providers.

    The first provider to shut down (at exit) must not stop it for the others.
    """

    def shutdown(self) -> None:
        pass


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN_URL,
                                autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL at {PG_ADMIN_URL} unavailable: {exc}")
        raise
    name = f"crm_services_{os.getpid()}_{secrets.token_hex(3)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} unavailable: {exc}")
    client.flushdb()  # database 15 is ours alone
    yield REDIS_URL
    client.flushdb()
    client.close()


class Stack:
    """Builds service apps on one backend; everything they log and trace is captured."""

    def __init__(self, database: str, cache: str | None, tmp: Any) -> None:
        self.database, self.cache, self.tmp = database, cache, tmp
        self.exporter = SharedExporter()
        self.log = io.StringIO()
        self.apps: list[FastAPI] = []

    def url(self, service: str) -> str:
        if self.database.startswith("postgresql"):
            return self.database  # one database; each service owns its tables
        return f"sqlite:///{self.tmp}/{service}.db"

    def config(self, service: str, **overrides: Any) -> ServiceConfig:
        values: dict[str, Any] = {"service": service, "database_url": self.url(service),
                                  "redis_url": self.cache, "jwt_secret": SECRET}
        return ServiceConfig(**{**values, **overrides})

    def app(self, service: str, *, config: ServiceConfig | None = None, **options: Any) -> FastAPI:
        import importlib

        module = importlib.import_module(f"reference_services.{service}.app")
        settings = Settings.for_profile("development", service_name=f"{service}-service",
                                        log_format="json", log_level="INFO",
                                        health_timeout_s=0.5, health_cache_ttl_s=0.2)
        app: FastAPI = module.create_app(settings, config=config or self.config(service),
                                         exporter=self.exporter, log_stream=self.log, **options)
        self.apps.append(app)
        return app

    def spans(self) -> list[Any]:
        for app in self.apps:
            app.state.service.obs.flush()
        return list(self.exporter.get_finished_spans())

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log.getvalue().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines

    def close(self) -> None:
        for app in self.apps:
            app.state.service.engine.dispose()


@pytest.fixture
def sqlite_stack(tmp_path: Any) -> Iterator[Stack]:
    stack = Stack("sqlite", None, tmp_path)
    yield stack
    stack.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return "sqlite"


@pytest.fixture(params=["no-cache", "redis"])
def cache(request: pytest.FixtureRequest) -> str | None:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return None


@pytest.fixture
def stack(database: str, cache: str | None, tmp_path: Any) -> Iterator[Stack]:
    """Every combination: SQLite / PostgreSQL x Redis off / on."""
    built = Stack(database, cache, tmp_path)
    yield built
    built.close()


def tenant() -> str:
    """A tenant of its own per test: tests sharing a PostgreSQL database never meet."""
    return f"t-{uuid.uuid4().hex[:12]}"


def token(tenant_id: str, user: str = "alice", roles: tuple[str, ...] = DEFAULT_ROLES) -> str:
    return issue_token(SECRET, tenant=tenant_id, user=user, roles=roles)


def client(app: FastAPI, bearer: str | None = None) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://testserver", headers=headers)


def metric_value(text: str, name: str, **labels: str) -> float:
    """Sum of the samples named ``name`` whose labels include ``labels`` (parsed exposition)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total



