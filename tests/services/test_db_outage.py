"""A private PostgreSQL is stopped under a running service, then started again.

Readiness turns 503 within 1 s while liveness stays 200; API calls get a 503
JSON error (never a 500); both recover by themselves once the database is back.
The shared PostgreSQL is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_observability import conventions as names
from tests.services.conftest import Stack, client, tenant, token, unavailable
from tests.support import free_port

pytestmark = pytest.mark.anyio

PG_BIN = Path(os.environ.get("CRM_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PrivatePostgres:
    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            unavailable(f"PostgreSQL server binaries not found in {PG_BIN}")
        self.root = Path(tempfile.mkdtemp(prefix="crm-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        # initdb refuses to run as root: run the server as the postgres user then.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(PG_BIN / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def destroy(self) -> None:
        subprocess.run([*self.prefix, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m",
                        "immediate", "stop"], capture_output=True, timeout=30, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.destroy()


async def test_readiness_follows_the_database_and_recovers(private_pg: PrivatePostgres,
                                                           tmp_path: Path) -> None:
    stack = Stack(private_pg.url, None, tmp_path)
    app = stack.app("contacts")
    t = tenant()
    async with client(app, token(t)) as c:
        assert (await c.get(names.READINESS_PATH)).status_code == 200
        made = await c.post("/api/v1/contacts", json={
            "first_name": "Db", "last_name": "Down", "email": "db@example.com"})
        assert made.status_code == 201

        private_pg.stop()
        stopped = time.monotonic()
        while (await c.get(names.READINESS_PATH)).status_code != 503:
            assert time.monotonic() - stopped < 1.0, "readiness still 200 one second later"
        elapsed = time.monotonic() - stopped
        assert elapsed < 1.0
        print(f"readiness 503 after {elapsed * 1000:.0f} ms")
        assert (await c.get(names.LIVENESS_PATH)).status_code == 200
        details = (await c.get(names.READINESS_PATH)).json()["components"]["database"]
        assert details["status"] == "DOWN" and "error" in details["details"]
        outage = await c.get("/api/v1/contacts")
        assert outage.status_code == 503
        assert outage.json()["error"]["code"] == "unavailable"

        private_pg.start()
        restarted = time.monotonic()
        while (await c.get(names.READINESS_PATH)).status_code != 200:
            assert time.monotonic() - restarted < 10, "readiness did not recover"
        print(f"readiness 200 again {(time.monotonic() - restarted) * 1000:.0f} ms "
              "after the database returned")
        listed = await c.get("/api/v1/contacts")
        assert listed.status_code == 200 and listed.json()["total"] == 1
    stack.close()
