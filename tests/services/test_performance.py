"""The design document's p95 budgets, on the testing profile's data (10,000 contacts,
5,000 deals), in process over ASGI on SQLite: the services' own cost, no network."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from reference_services.common.seed import seed
from tests.services.conftest import Stack, client, token

pytestmark = pytest.mark.anyio

REQUESTS = 40
# "Performance Benchmarks": p95 budgets in seconds.
BUDGETS = {"contacts.get_single": 0.100, "contacts.get_list": 0.200, "contacts.search": 0.500,
           "contacts.create": 0.300, "deals.get_list": 0.300, "deals.create": 0.400,
           "deals.pipeline_view": 0.800}


async def p95(call: Callable[[int], Awaitable[httpx.Response]]) -> float:
    durations = []
    for n in range(REQUESTS):
        started = time.perf_counter()
        response = await call(n)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return statistics.quantiles(durations, n=20)[-1]


async def _created(request: Awaitable[httpx.Response]) -> httpx.Response:
    response = await request
    assert response.status_code == 201, response.text
    return httpx.Response(200)


async def test_p95_within_the_documented_budgets(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    urls = {svc: stack.url(svc) for svc in ("contacts", "deals", "leads", "accounts")}
    seed(urls, "testing", tenant="perf")
    contacts = stack.app("contacts")
    deals = stack.app("deals", transports={"contacts": httpx.ASGITransport(app=contacts)})
    bearer = token("perf")
    measured: dict[str, float] = {}
    async with client(contacts, bearer) as cc, client(deals, bearer) as dc:
        measured["contacts.get_single"] = await p95(
            lambda n: cc.get(f"/api/v1/contacts/{n * 97 % 10_000 + 1}"))
        measured["contacts.get_list"] = await p95(
            lambda n: cc.get("/api/v1/contacts", params={"limit": 100, "offset": n * 50}))
        measured["contacts.search"] = await p95(
            lambda n: cc.get("/api/v1/contacts", params={"q": f"{n:03d}"}))
        measured["contacts.create"] = await p95(lambda n: _created(cc.post(
            "/api/v1/contacts", json={"first_name": "P", "last_name": f"{n}",
                                      "email": f"perf{n}@example.com"})))
        # Creating a deal includes its check with contacts-service.
        measured["deals.create"] = await p95(lambda n: _created(dc.post(
            "/api/v1/deals", json={"title": f"P{n}", "amount": n, "contact_id": n + 1})))
        measured["deals.get_list"] = await p95(
            lambda n: dc.get("/api/v1/deals", params={"limit": 100, "offset": n * 50}))
        measured["deals.pipeline_view"] = await p95(lambda n: dc.get("/api/v1/deals/pipeline"))
        total = (await cc.get("/api/v1/contacts", params={"limit": 1})).json()["total"]
    assert total == 10_000 + REQUESTS
    print({k: f"{v * 1000:.1f} ms" for k, v in measured.items()})
    for name, budget in BUDGETS.items():
        assert measured[name] < budget, f"{name}: p95 {measured[name]:.3f}s over {budget}s"
