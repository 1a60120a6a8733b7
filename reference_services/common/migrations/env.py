"""Alembic environment: runs against the engine passed in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from reference_services.common.db import create_db_engine

# Several services may start at once against one PostgreSQL database: serialise them.
_PG_LOCK_KEY = 5_417_001


def run_migrations_online() -> None:
    config = context.config
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` CLI use: sqlalchemy.url from the ini
        engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=None,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                connection.commit()


run_migrations_online()
