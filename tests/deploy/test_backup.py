"""The backup CronJob's script, run for real against the local PostgreSQL: it dumps each
service database compressed, proves the archive is whole, and fails when a dump fails."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_observability.generators.deploy.k8s_platform import backup_cronjob
from crm_observability.generators.deploy.model import ENVIRONMENT_TABLE
from tests.deploy.conftest import missing, require_tool

PG = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"}
APPS = ("contacts", "deals", "leads", "accounts")


def _psql(sql: str, database: str = "test") -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("psql"), "-v", "ON_ERROR_STOP=1", "-d", database,
                           "-c", sql], env={**PG, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def databases() -> Iterator[str]:
    require_tool("pg_dump")
    prefix = f"crm_deploy_test_{uuid.uuid4().hex[:8]}"
    if _psql("SELECT 1").returncode != 0:
        missing("PostgreSQL on 127.0.0.1:5432 is not reachable")
    try:
        for app in APPS:
            assert _psql(f"CREATE DATABASE {prefix}_{app}").returncode == 0
        assert _psql("CREATE TABLE contact (id int primary key, name text); "
                     "INSERT INTO contact VALUES (1, 'Ada')", f"{prefix}_contacts").returncode == 0
        yield prefix
    finally:
        for app in APPS:
            _psql(f"DROP DATABASE IF EXISTS {prefix}_{app}")


def _script(db_name: str, backup_dir: Path) -> list[str]:
    env = dataclasses.replace(ENVIRONMENT_TABLE["production"], db_name=db_name)
    container = backup_cronjob(env)["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"][0]
    command = list(container["command"])
    command[-1] = command[-1].replace("/backup", str(backup_dir))
    return command


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    path = f"{Path(shutil.which('pg_dump') or '/usr/bin/pg_dump').parent}:/usr/bin:/bin"
    return subprocess.run(command, env={**PG, "PATH": path}, capture_output=True, text=True,
                          timeout=120, check=False)


def test_backup_dumps_compresses_and_verifies_each_database(databases: str,
                                                            tmp_path: Path) -> None:
    out = _run(_script(databases, tmp_path))
    assert out.returncode == 0, out.stderr
    archives = sorted(tmp_path.glob("*.sql.gz"))
    # <database>_<YYYYmmdd>_<HHMMSS>.sql.gz: the timestamp is the last two "_" fields
    assert [a.name.rsplit("_", 2)[0] for a in archives] == sorted(
        f"{databases}_{app}" for app in APPS)
    assert out.stdout.count("backup ok:") == 4
    contacts = next(a for a in archives if "_contacts_" in a.name)
    dump = gzip.decompress(contacts.read_bytes()).decode()
    assert "CREATE TABLE public.contact" in dump and "Ada" in dump


def test_backup_fails_when_a_dump_fails(tmp_path: Path) -> None:
    require_tool("pg_dump")
    missing_db = f"crm_deploy_absent_{uuid.uuid4().hex[:8]}"
    out = _run(_script(missing_db, tmp_path))
    assert out.returncode != 0
    assert "backup ok" not in out.stdout
