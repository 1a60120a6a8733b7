"""Alembic migrations: they build exactly the models' schema, go down and up, and serialise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import reference_services.accounts.models
import reference_services.contacts.models
import reference_services.deals.models
import reference_services.leads.models  # noqa: F401 - every table on Base.metadata
from reference_services.common import db

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"accounts", "contacts", "deals", "leads", "users", "alembic_version"}


def _diff(url: str) -> list[object]:
    engine = db.create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, db.Base.metadata))
    finally:
        engine.dispose()


def test_migrations_match_the_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    engine = db.create_db_engine(url)
    assert not db.migrations_applied(engine)
    db.upgrade(engine)
    assert db.migrations_applied(engine)
    assert db.stored_revision(engine) == db.head_revision() == "0004"
    assert set(inspect(engine).get_table_names()) == TABLES
    assert _diff(url) == []
    command.downgrade(db._alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    db.upgrade(engine)
    assert db.migrations_applied(engine)
    engine.dispose()


def test_concurrent_starts_on_postgresql_migrate_once(pg_url: str) -> None:
    # Services starting together against one fresh database, as separate processes (as in
    # production): the advisory lock in the Alembic env serialises them.
    import psycopg

    name = f"{pg_url.rsplit('/', 1)[1]}_race"
    admin_url = pg_url
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    code = ("import sys; from reference_services.common import db; "
            "db.upgrade(db.create_db_engine(sys.argv[1]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        procs = [subprocess.Popen([sys.executable, "-c", code, url], env=env,
                                  stderr=subprocess.PIPE) for _ in range(3)]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()[-2000:]
        engine = db.create_db_engine(url)
        assert db.migrations_applied(engine)
        engine.dispose()
        assert _diff(url) == []
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
