"""Database engine, sessions and Alembic migrations (the Flyway of the design document).

SQLite files by default (nothing to install), PostgreSQL when the URL says so
(``postgresql://`` is run through psycopg 3).  Migrations ship inside the
package and are applied programmatically at start.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
IDLE_PING_S = 1.0  # a pooled connection idle for longer is tested before use
# Stable constraint names, so migrations and models agree on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3 (the driver installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_db_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine that fails fast when the database is down (health checks need that)."""
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5}
    else:
        # A fixed pool, as HikariCP's maximum-pool-size: connections open on demand and
        # stay.  QueuePool's overflow connections are closed as soon as they are returned,
        # so under a burst every request past pool_size paid a PostgreSQL connect (a
        # backend fork, milliseconds), which made the burst longer: at 500 req/s the
        # services tipped into seconds of queueing with a third of the CPU idle.
        kwargs.update(pool_size=pool_size, max_overflow=0, pool_timeout=2,
                      connect_args={"connect_timeout": 2})
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float = IDLE_PING_S) -> None:
    """Test a pooled connection on checkout only when it sat idle for ``idle_s``.

    ``pool_pre_ping`` costs a round trip on every checkout, i.e. on every request;
    under load connections come back within milliseconds and a dead one is far more
    likely after a quiet spell.  A connection that dies while busy still fails its
    query, and SQLAlchemy then invalidates the whole pool (the request gets a 503).
    """

    def checkin(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except Exception as exc:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError(str(exc)) from exc

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers and the one writer proceed together; busy_timeout waits for locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads only: each statement in autocommit, on the same pool.

    A transactional read costs BEGIN and ROLLBACK round trips around its queries;
    PostgreSQL's READ COMMITTED gives every statement its own snapshot anyway, so
    a read sees the same data either way.  Never write through these sessions.
    """
    return sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"),
                        expire_on_commit=False)


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (the env takes a lock on PostgreSQL)."""
    command.upgrade(_alembic_config(engine), revision)


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def stored_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version`` (one cheap query, for the startup probe)."""
    with engine.connect() as connection:
        value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if value is None else str(value)


def migrations_applied(engine: Engine) -> bool:
    """True when the database is at the head revision (reported by the startup group)."""
    return current_revision(engine) == head_revision()


def utcnow() -> datetime:
    return datetime.now(UTC)
