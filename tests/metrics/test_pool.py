"""SQLAlchemy pool gauges against the real PostgreSQL on 127.0.0.1:5432."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.metrics import MetricsRegistry, register_sqlalchemy_pool
from crm_observability.metrics.pool import pool_figures

from .conftest import sample

PG_URL = os.environ.get("CRM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_USE = names.DB_POOL_CONNECTIONS_IN_USE
MAX = names.DB_POOL_CONNECTIONS_MAX


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    eng = sa.create_engine(PG_URL, pool_size=3, max_overflow=2, pool_pre_ping=False)
    try:
        with eng.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    yield eng
    eng.dispose()


def test_pool_gauges_follow_checked_out_connections(metrics: MetricsRegistry,
                                                    engine: sa.Engine) -> None:
    register_sqlalchemy_pool(metrics, engine, name="contacts")
    assert sample(metrics, MAX, pool="contacts") == 5
    assert sample(metrics, IN_USE, pool="contacts") == 0
    with engine.connect() as first, engine.connect() as second:
        first.execute(sa.text("select 1"))
        second.execute(sa.text("select pg_sleep(0)"))
        assert sample(metrics, IN_USE, pool="contacts") == 2
    assert sample(metrics, IN_USE, pool="contacts") == 0


def test_several_pools_and_pools_without_a_size(metrics: MetricsRegistry,
                                                engine: sa.Engine) -> None:
    register_sqlalchemy_pool(metrics, engine)
    unbounded = sa.create_engine(PG_URL, poolclass=NullPool)
    register_sqlalchemy_pool(metrics, unbounded, name="reports")
    sqlite = sa.create_engine("sqlite://")
    register_sqlalchemy_pool(metrics, sqlite, name="cache")
    assert sample(metrics, MAX, pool="default") == 5
    assert sample(metrics, MAX, pool="reports") is None  # NullPool has no maximum
    # SingletonThreadPool (in-memory SQLite) reports neither figure
    assert sample(metrics, IN_USE, pool="cache") is None
    assert sample(metrics, MAX, pool="cache") is None
    assert sample(metrics, IN_USE, pool="default") == 0
    # a disposed and collected engine drops out
    del unbounded
    gc.collect()
    assert sample(metrics, IN_USE, pool="reports") is None


def test_a_broken_pool_is_contained(metrics: MetricsRegistry) -> None:
    class BrokenPool:
        def checkedout(self) -> int:
            raise RuntimeError("pool gone")

    class FakeEngine:  # stands in only for an engine whose pool raises
        pool = BrokenPool()

    broken = FakeEngine()
    register_sqlalchemy_pool(metrics, broken, name="broken")
    assert sample(metrics, IN_USE, pool="broken") is None
    assert errors.failure_counts()["metrics"] == 1


def test_pool_figures_of_a_queue_pool(engine: sa.Engine) -> None:
    assert pool_figures(engine.pool) == (0, 5)
    unlimited = sa.create_engine(PG_URL, pool_size=2, max_overflow=-1)
    assert pool_figures(unlimited.pool) == (0, None)
