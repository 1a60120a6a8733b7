"""crm-services: token, seed (idempotent, sizes per profile), run (four real servers)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import create_engine, text

from crm_observability import conventions as names
from reference_services import cli
from reference_services.common.config import DEV_JWT_SECRET
from reference_services.common.seed import PROFILES, SeedSizes, seed

ROOT = Path(__file__).resolve().parents[2]


def test_token_carries_tenant_user_and_roles(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_JWT_SECRET", raising=False)
    assert cli.main(["token", "--tenant", "acme", "--user", "bob", "--roles", "crm.read"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), DEV_JWT_SECRET, algorithms=["HS256"])
    assert (claims["tenant"], claims["sub"], claims["roles"]) == ("acme", "bob", ["crm.read"])
    assert claims["exp"] - claims["iat"] == 24 * 3600


@pytest.mark.parametrize(("argv", "message"), [
    (["token", "--tenant", "a b", "--user", "u"], "--tenant: 'a b' must match"),
    (["token", "--tenant", "t", "--user", "u", "--roles", ","], "--roles: give at least one"),
    (["token", "--tenant", "t", "--user", "u", "--ttl", "0"], "--ttl: 0 must be positive"),
    (["seed", "--contacts", "1", "--deals", "5"], "--deals: 5 needs at least as many contacts"),
    (["seed", "--contacts", "-1"], "--contacts: -1 must be a non-negative integer"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("crm-services: " + message) and err.count("\n") == 1


def test_short_secret_is_refused(capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_JWT_SECRET", "short")
    assert cli.main(["token", "--tenant", "t", "--user", "u"]) == 2
    assert "CRM_JWT_SECRET: must be at least 32 bytes" in capsys.readouterr().err


def _count(url: str, table: str, tenant: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),
                                   {"t": tenant}).scalar_one()
    engine.dispose()
    return int(value)


def test_seed_development_profile_is_idempotent(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["seed", "--profile", "development", "--tenant", "dev"]) == 0
    assert "added 2 users, 10 accounts, 100 contacts, 20 leads, 50 deals" in \
        capsys.readouterr().out
    assert cli.main(["seed", "--profile", "development", "--tenant", "dev"]) == 0
    assert "added 0 users, 0 accounts, 0 contacts, 0 leads, 0 deals" in capsys.readouterr().out
    db = {svc: f"sqlite:///{tmp_path}/crm-{svc}.db" for svc in cli.SERVICES}
    assert _count(db["contacts"], "contacts", "dev") == 100
    assert _count(db["deals"], "deals", "dev") == 50
    # Every seeded deal references a seeded contact of the same tenant.
    engine = create_engine(db["deals"])
    with engine.connect() as connection:
        refs = set(connection.execute(text("SELECT contact_id FROM deals")).scalars())
    engine.dispose()
    assert refs <= set(range(1, 101)) and len(refs) == 50


def test_seed_testing_sizes_on_postgresql(pg_url: str) -> None:
    urls = dict.fromkeys(cli.SERVICES, pg_url)
    sizes = PROFILES["testing"]
    assert (sizes.contacts, sizes.deals, sizes.users) == (10_000, 5_000, 100)
    added = seed(urls, "testing", tenant="perf-test")
    assert added == {"users": 100, "accounts": 500, "contacts": 10_000, "leads": 1_000,
                     "deals": 5_000}
    assert seed(urls, "testing", tenant="perf-test") == dict.fromkeys(added, 0)
    # Growing a size adds only the difference.
    bigger = SeedSizes(contacts=10_010, deals=5_000, users=100, accounts=500, leads=1_000)
    assert seed(urls, sizes=bigger, tenant="perf-test")["contacts"] == 10


def _free_base_port() -> int:
    for base in range(20_000 + os.getpid() % 20_000, 65_000, 7):
        try:
            socks = []
            for port in range(base, base + 4):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no four consecutive free ports")


@pytest.mark.slow
def test_run_starts_all_four_and_ctrl_c_stops_them(tmp_path: Path) -> None:
    base = _free_base_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRM_OBS_LOG_FORMAT": "json"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "reference_services.cli", "run",
                             "--base-port", str(base)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        up: set[int] = set()
        while len(up) < 4:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, f"only {sorted(up)} came up"
            for port in range(base, base + 4):
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}{names.LIVENESS_PATH}", timeout=1)
                    if r.status_code == 200:
                        up.add(port)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        spec = httpx.get(f"http://127.0.0.1:{base + 1}/openapi.json", timeout=5).json()
        assert "/api/v1/deals/pipeline" in spec["paths"]
        assert sorted(p.name for p in tmp_path.glob("crm-*.db")) == [
            "crm-accounts.db", "crm-contacts.db", "crm-deals.db", "crm-leads.db"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        for port in range(base, base + 4):
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}{names.LIVENESS_PATH}", timeout=1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
