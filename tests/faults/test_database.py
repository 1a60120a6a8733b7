"""A private PostgreSQL is stopped under a real contacts-service during a write load.

Readiness answers 503 within 1 s of the stop while liveness stays 200; writes
fail with 503 (never a 500); every create answered 201 is in the database
afterwards; once the database is back the same process serves again (no restart).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm_observability import conventions as names
from reference_services.common.auth import DEFAULT_ROLES, issue_token
from tests.faults.servers import PrivatePostgres, ServiceProcess

SECRET = "faults-only-secret-0123456789abcdef0123456789"
WRITERS = 4  # below the pool (5 + 5 overflow): an outage, not pool exhaustion, is under test


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.destroy()


class Load:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.created: list[tuple[float, int, str]] = []  # (time, status, email)
        self.probes: list[tuple[float, str, int, float]] = []  # (time, path, status, seconds)
        self.stop = asyncio.Event()

    async def writer(self, n: int) -> None:
        k = 0
        while not self.stop.is_set():
            k += 1
            email = f"w{n}.{k}.{uuid.uuid4().hex[:8]}@example.com"
            try:
                resp = await self.client.post("/api/v1/contacts", json={
                    "first_name": "Load", "last_name": f"W{n}", "email": email})
                status = resp.status_code
            except httpx.HTTPError:
                status = 0
            self.created.append((time.monotonic(), status, email))
            await asyncio.sleep(0.01)

    async def prober(self) -> None:
        while not self.stop.is_set():
            for path in (names.READINESS_PATH, names.LIVENESS_PATH):
                start = time.monotonic()
                resp = await self.client.get(path)
                self.probes.append((start, path, resp.status_code, time.monotonic() - start))
            await asyncio.sleep(0.05)

    def probe_statuses(self, path: str, since: float, until: float = float("inf")) -> list[Any]:
        return [(t, s) for t, p, s, _ in self.probes if p == path and since <= t < until]


def _emails(url: str, tenant: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT email FROM contacts WHERE tenant_id = %s", (tenant,))
        return {str(r[0]) for r in rows}


@pytest.mark.slow
def test_database_stopped_during_writes(private_pg: PrivatePostgres, tmp_path: Path) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    with (tmp_path / "service.log").open("w") as log:
        svc = ServiceProcess("contacts", {"DATABASE_URL": private_pg.url, "CRM_JWT_SECRET": SECRET,
                                          "CRM_OBS_ENVIRONMENT": "testing"}, stdout=log,
                             stderr=log)
        try:
            svc.wait_ready(names.READYZ_PATH)
            load = asyncio.run(_outage(svc, private_pg, tenant))
        finally:
            svc.stop()
    stopped_at, restart_at, started_at, load_ = load
    statuses = {s for _, s, _ in load_.created}
    assert statuses <= {201, 503}, f"statuses {statuses}; see {tmp_path / 'service.log'}"
    ok = [e for _, s, e in load_.created if s == 201]
    assert any(t < stopped_at for t, s, _ in load_.created if s == 201)
    assert any(t > started_at for t, s, _ in load_.created if s == 201), "no recovery"
    assert any(s == 503 for _, s, _ in load_.created), "the outage was not seen by writers"
    # Every create answered 201 is in the database.
    missing = set(ok) - _emails(private_pg.url, tenant)
    assert not missing, f"{len(missing)} acknowledged creates lost"

    # Down within 1 s of the stop, and down until the database is started again.
    ready = load_.probe_statuses(names.READINESS_PATH, stopped_at, restart_at)
    first_down = next(t for t, s in ready if s == 503)
    assert first_down - stopped_at <= 1.0, ready
    assert all(s == 503 for t, s in ready if t >= first_down), ready
    live = [s for _, p, s, _ in load_.probes if p == names.LIVENESS_PATH]
    assert set(live) == {200}
    assert max(d for *_, d in load_.probes) < 1.0  # every probe answered within 1 s
    after = load_.probe_statuses(names.READINESS_PATH, started_at)
    assert after[-1][1] == 200


async def _outage(svc: ServiceProcess, pg: PrivatePostgres,
                  tenant: str) -> tuple[float, float, float, Load]:
    token = issue_token(SECRET, tenant=tenant, user="writer", roles=DEFAULT_ROLES)
    async with httpx.AsyncClient(base_url=svc.url, timeout=10,
                                 headers={"authorization": f"Bearer {token}"}) as client:
        load = Load(client)
        tasks = [asyncio.create_task(load.writer(n)) for n in range(WRITERS)]
        tasks.append(asyncio.create_task(load.prober()))
        await asyncio.sleep(1.5)
        await asyncio.to_thread(pg.stop)
        stopped_at = time.monotonic()
        await asyncio.sleep(2.5)
        restart_at = time.monotonic()
        await asyncio.to_thread(pg.start)
        started_at = time.monotonic()
        deadline = started_at + 15
        # Recovered: readiness 200 and writes acknowledged again, same process.
        while time.monotonic() < deadline:
            recent = [s for t, s, _ in load.created if t > started_at]
            ready = load.probe_statuses(names.READINESS_PATH, started_at)
            if 201 in recent[-3:] and ready and ready[-1][1] == 200:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        load.stop.set()
        await asyncio.gather(*tasks)
    return stopped_at, restart_at, started_at, load
