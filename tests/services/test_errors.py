"""Bad input and missing rights: a 4xx with one JSON error shape, never a 500."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest
from sqlalchemy import event

from crm_observability import conventions as names
from reference_services.common.auth import ROLE_READ, ROLE_WRITE
from tests.services.conftest import Stack, client, tenant, token, unavailable

pytestmark = pytest.mark.anyio

GOOD = {"first_name": "A", "last_name": "B", "email": "a@example.com"}


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("POST", "/api/v1/contacts", {**GOOD, "email": "not-an-email"}, 422, "body.email"),
    ("POST", "/api/v1/contacts", {**GOOD, "first_name": "nul\x00byte"}, 422, "body.first_name"),
    ("POST", "/api/v1/contacts", {**GOOD, "first_name": ""}, 422, "body.first_name"),
    ("POST", "/api/v1/contacts", {**GOOD, "role": "admin"}, 422, "body.role"),
    ("POST", "/api/v1/contacts", {**GOOD, "account_id": 2**40}, 422, "body.account_id"),
    ("POST", "/api/v1/contacts", [1, 2], 422, "body"),
    ("GET", "/api/v1/contacts/99999999999", None, 422, "path.contact_id"),
    ("GET", "/api/v1/contacts/abc", None, 422, "path.contact_id"),
    ("GET", "/api/v1/contacts?limit=101", None, 422, "query.limit"),
    ("GET", "/api/v1/contacts?limit=0", None, 422, "query.limit"),
    ("GET", "/api/v1/contacts?offset=-1", None, 422, "query.offset"),
    ("GET", "/api/v1/contacts?q=" + "x" * 101, None, 422, "query.q"),
    ("PATCH", "/api/v1/contacts/1", {"email": None}, 422, "body.email"),
    ("PATCH", "/api/v1/contacts/424242", {"phone": "123"}, 404, "contact_id"),
    ("GET", "/api/v1/contacts/424242", None, 404, "contact_id"),
])
async def test_bad_input_names_the_field(sqlite_stack: Stack, method: str, path: str,
                                         body: object, status: int, field: str) -> None:
    app = sqlite_stack.app("contacts")
    async with client(app, token(tenant())) as c:
        r = await c.request(method, path, json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["field"] == field and error["message"]


async def test_malformed_json_and_oversized_bodies(sqlite_stack: Stack) -> None:
    app = sqlite_stack.app("accounts")
    async with client(app, token(tenant())) as c:
        r = await c.post("/api/v1/accounts", content=b'{"name": ',
                         headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
        r = await c.post("/api/v1/accounts", json={"name": "x" * 70_000})
        assert r.status_code == 413
        r = await c.put("/api/v1/accounts/1", json={})
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        r = await c.get("/api/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("service", ["contacts", "deals", "leads", "accounts"])
async def test_tokens_and_roles(sqlite_stack: Stack, service: str) -> None:
    app = sqlite_stack.app(service)
    path = f"/api/v1/{service}"
    t = tenant()
    async with client(app) as anon:
        r = await anon.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["code"] == "unauthorized"
        r = await anon.get(path, headers={"authorization": "Bearer not.a.jwt"})
        assert r.status_code == 401
    async with client(app, token(t, roles=(ROLE_READ,))) as reader:
        assert (await reader.get(path)).status_code == 200
        r = await reader.post(path, json={})
        assert r.status_code == 403 and "crm.write" in r.json()["error"]["message"]
        assert (await reader.delete(f"{path}/1")).status_code == 403
    async with client(app, token(t, roles=(ROLE_WRITE,))) as writer:
        assert (await writer.get(path)).status_code == 403


async def test_deal_needs_read_access_to_its_contact(sqlite_stack: Stack) -> None:
    import httpx

    contacts = sqlite_stack.app("contacts")
    deals = sqlite_stack.app("deals", transports={"contacts": httpx.ASGITransport(app=contacts)})
    async with client(deals, token(tenant(), roles=(ROLE_WRITE,))) as c:
        r = await c.post("/api/v1/deals", json={"title": "x", "amount": 1, "contact_id": 1})
    assert r.status_code == 403  # contacts-service refused the forwarded token
    assert "contacts-service" in r.json()["error"]["message"]


@pytest.mark.parametrize("service", ["contacts", "deals", "leads", "accounts"])
async def test_metrics_pass_promtool(sqlite_stack: Stack, service: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        unavailable("promtool not installed")
        return
    app = sqlite_stack.app(service)
    async with client(app, token(tenant())) as c:
        await c.get(f"/api/v1/{service}")
        await c.get(f"/api/v1/{service}/1")
        text = (await c.get(names.METRICS_PATH)).text
    assert names.USERS_ACTIVE in text and names.HTTP_SERVER_DURATION in text
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                            capture_output=True, timeout=30, check=False,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "", result.stdout.decode()


async def test_a_burst_reuses_the_pools_connections(pg_url: str, tmp_path: object) -> None:
    """Past pool_size requests wait for a pooled connection; none opens one of its own."""
    stack = Stack(pg_url, None, tmp_path)
    try:
        app = stack.app("contacts", config=stack.config("contacts", db_pool_size=2))
        opened: list[object] = []
        event.listen(app.state.service.engine, "connect", lambda *_: opened.append(1))
        async with client(app, token(tenant())) as c:
            for _ in range(3):
                answers = await asyncio.gather(
                    *(c.get("/api/v1/contacts") for _ in range(12)))
                assert [r.status_code for r in answers] == [200] * 12
        assert 1 <= len(opened) <= 2
    finally:
        stack.close()


async def test_an_exhausted_connection_pool_answers_503(pg_url: str, tmp_path: object) -> None:
    stack = Stack(pg_url, None, tmp_path)
    try:
        app = stack.app("contacts", config=stack.config("contacts", db_pool_size=1))
        engine = app.state.service.engine
        held = [engine.connect()]  # the fixed pool's one connection
        try:
            async with client(app, token(tenant())) as c:
                resp = await c.get("/api/v1/contacts")
            assert resp.status_code == 503, resp.text
            assert resp.headers["retry-after"] == "1"
            assert resp.json()["error"]["code"] == "unavailable"
        finally:
            for conn in held:
                conn.close()
        async with client(app, token(tenant())) as c:
            assert (await c.get("/api/v1/contacts")).status_code == 200
    finally:
        stack.close()
