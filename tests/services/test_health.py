"""Health groups of the services: what readiness and startup cover, and who sees details."""

from __future__ import annotations

import pytest

from crm_observability import conventions as names
from reference_services.common.config import ServiceConfig
from tests.services.conftest import SECRET, Stack, client, metric_value, tenant, token
from tests.support import free_port

pytestmark = pytest.mark.anyio


async def test_readiness_and_startup_cover_database_cache_and_migrations(stack: Stack) -> None:
    app = stack.app("contacts")
    async with client(app) as anon, client(app, token(tenant())) as authed:
        public = await anon.get(names.READINESS_PATH)
        assert public.status_code == 200 and public.json() == {"status": "UP"}
        bad = await anon.get(names.READINESS_PATH, headers={"authorization": "Bearer nope"})
        assert "components" not in bad.json()
        ready = (await authed.get(names.READINESS_PATH)).json()["components"]
        assert ready["database"]["status"] == "UP"
        assert ("redis" in ready) == bool(stack.cache)
        startup = (await authed.get(names.STARTUP_PATH)).json()["components"]
        assert startup["migrations"] == {"status": "UP", "details": {"revision": "0004"}}
        if stack.cache:
            assert startup["cache-warmup"]["status"] == "UP"
        live = await anon.get(names.LIVENESS_PATH)
        assert live.status_code == 200


async def test_unreachable_peer_is_reported_but_keeps_the_service_ready(
        sqlite_stack: Stack) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    config = ServiceConfig(service="deals", database_url=sqlite_stack.url("deals"),
                           jwt_secret=SECRET, contacts_url=dead)
    deals = sqlite_stack.app("deals", config=config)
    async with client(deals, token(tenant())) as c:
        r = await c.get(names.READINESS_PATH)
        assert r.status_code == 200
        assert r.json()["components"]["contacts-service"]["status"] == "DOWN"
        # A call that needs the peer says so, as a 503 with the JSON error shape.
        create = await c.post("/api/v1/deals", json={"title": "x", "amount": 1, "contact_id": 1})
        assert create.status_code == 503
        assert create.json()["error"]["code"] == "dependency_unavailable"


async def test_warmup_loads_recent_rows_into_the_cache(sqlite_stack: Stack,
                                                       redis_url: str) -> None:
    plain = sqlite_stack.app("accounts")
    t = tenant()
    async with client(plain, token(t)) as c:
        account_id = (await c.post("/api/v1/accounts", json={"name": "Warm"})).json()["id"]
    cached = sqlite_stack.app("accounts", config=sqlite_stack.config("accounts",
                                                                     redis_url=redis_url))
    assert cached.state.service.warmed is not None and cached.state.service.warmed >= 1
    async with client(cached, token(t)) as c:
        assert (await c.get(f"/api/v1/accounts/{account_id}")).json()["name"] == "Warm"
        text = (await c.get(names.METRICS_PATH)).text
    assert metric_value(text, names.CACHE_REQUESTS_TOTAL, result="hit") == 1
    assert metric_value(text, names.CACHE_REQUESTS_TOTAL, result="miss") == 0


async def test_cache_outage_falls_back_to_the_database(sqlite_stack: Stack) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    app = sqlite_stack.app("contacts", config=sqlite_stack.config("contacts", redis_url=down))
    assert app.state.service.warmed is None  # warm-up failed, contained
    async with client(app, token(tenant())) as c:
        created = await c.post("/api/v1/contacts", json={
            "first_name": "A", "last_name": "B", "email": "ab@example.com"})
        r = await c.get(f"/api/v1/contacts/{created.json()['id']}")
        assert r.status_code == 200
        ready = await c.get(names.READINESS_PATH)
        assert ready.status_code == 503  # Redis is configured, so readiness needs it
        assert ready.json()["components"]["redis"]["status"] == "DOWN"
        startup = (await c.get(names.STARTUP_PATH)).json()["components"]
        assert startup["cache-warmup"]["status"] == "DOWN"
        text = (await c.get(names.METRICS_PATH)).text
    assert metric_value(text, names.CACHE_REQUESTS_TOTAL, result="error") == 1
