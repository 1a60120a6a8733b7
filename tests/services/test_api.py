"""The four services over HTTP, on SQLite and PostgreSQL, with Redis off and on."""

from __future__ import annotations

import httpx
import pytest

from crm_observability import conventions as names
from tests.services.conftest import Stack, client, metric_value, tenant, token

pytestmark = pytest.mark.anyio

CONTACTS = "/api/v1/contacts"
DEALS = "/api/v1/deals"
LEADS = "/api/v1/leads"
ACCOUNTS = "/api/v1/accounts"


def person(n: int) -> dict[str, str]:
    return {"first_name": f"Ada{n}", "last_name": "Lovelace", "email": f"ada{n}@example.com"}


async def scrape(c: httpx.AsyncClient) -> str:
    response = await c.get(names.METRICS_PATH)
    assert response.status_code == 200
    return response.text


async def test_contacts_crud_search_and_business_metrics(stack: Stack) -> None:
    app = stack.app("contacts")
    t = tenant()
    async with client(app, token(t)) as c:
        before = await scrape(c)
        ids = []
        for n in range(3):
            r = await c.post(CONTACTS, json=person(n))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        r = await c.post(CONTACTS, json={**person(9), "company": "Analytical Engines"})
        assert r.status_code == 201
        after = await scrape(c)
        created = metric_value(after, names.CONTACTS_CREATED_TOTAL, type="business")
        assert created - metric_value(before, names.CONTACTS_CREATED_TOTAL) == 4

        page = (await c.get(CONTACTS, params={"limit": 2, "offset": 1})).json()
        assert page["total"] == 4 and page["limit"] == 2 and len(page["items"]) == 2

        found = (await c.get(CONTACTS, params={"q": "ENGINE"})).json()
        assert [i["email"] for i in found["items"]] == ["ada9@example.com"]
        # LIKE wildcards are literal: "%" matches nothing here.
        assert (await c.get(CONTACTS, params={"q": "%"})).json()["total"] == 0
        searched = await scrape(c)
        assert metric_value(searched, names.CONTACTS_SEARCH_DURATION + "_count") == 2

        first = (await c.get(f"{CONTACTS}/{ids[0]}")).json()
        again = (await c.get(f"{CONTACTS}/{ids[0]}")).json()
        assert first == again and first["email"] == "ada0@example.com"
        r = await c.patch(f"{CONTACTS}/{ids[0]}", json={"phone": "+44 20 7946 0000"})
        assert r.status_code == 200 and r.json()["phone"] == "+44 20 7946 0000"
        # The cache entry was evicted: the read sees the change.
        assert (await c.get(f"{CONTACTS}/{ids[0]}")).json()["phone"] == "+44 20 7946 0000"
        assert (await c.delete(f"{CONTACTS}/{ids[0]}")).status_code == 204
        assert (await c.get(f"{CONTACTS}/{ids[0]}")).status_code == 404
        assert (await c.delete(f"{CONTACTS}/{ids[0]}")).status_code == 404

        duplicate = await c.post(CONTACTS, json=person(1))
        assert duplicate.status_code == 409
        assert duplicate.json()["error"]["code"] == "conflict"

        text = await scrape(c)
        hits = metric_value(text, names.CACHE_REQUESTS_TOTAL, result="hit")
        misses = metric_value(text, names.CACHE_REQUESTS_TOTAL, result="miss")
        if stack.cache:
            assert (hits, misses) == (1, 3)  # miss, hit, miss after the update, miss after delete
        else:
            assert names.CACHE_REQUESTS_TOTAL not in text


async def test_users_active_counts_distinct_users(stack: Stack) -> None:
    app = stack.app("accounts")
    t = tenant()
    async with client(app) as anon:
        assert metric_value(await scrape(anon), names.USERS_ACTIVE) == 0
        for user in ("alice", "bob", "alice"):
            r = await anon.get(ACCOUNTS, headers={"authorization": f"Bearer {token(t, user)}"})
            assert r.status_code == 200
        assert metric_value(await scrape(anon), names.USERS_ACTIVE) == 2
        # The same user name in another tenant is another user.
        await anon.get(ACCOUNTS, headers={"authorization": f"Bearer {token(tenant(), 'bob')}"})
        assert metric_value(await scrape(anon), names.USERS_ACTIVE) == 3


async def test_accounts_crud(stack: Stack) -> None:
    app = stack.app("accounts")
    async with client(app, token(tenant())) as c:
        r = await c.post(ACCOUNTS, json={"name": "Initech", "website": "https://initech.example"})
        assert r.status_code == 201
        account_id = r.json()["id"]
        assert (await c.get(f"{ACCOUNTS}/{account_id}")).json()["name"] == "Initech"
        r = await c.patch(f"{ACCOUNTS}/{account_id}", json={"industry": "software"})
        assert r.json()["industry"] == "software"
        assert (await c.get(f"{ACCOUNTS}/{account_id}")).json()["industry"] == "software"
        assert (await c.patch(f"{ACCOUNTS}/{account_id}", json={"name": None})).status_code == 422
        assert (await c.get(ACCOUNTS)).json()["total"] == 1
        assert (await c.delete(f"{ACCOUNTS}/{account_id}")).status_code == 204
        assert (await c.get(f"{ACCOUNTS}/{account_id}")).status_code == 404
        assert (await c.patch(f"{ACCOUNTS}/{account_id}", json={})).status_code == 404


async def test_deals_check_contact_pipeline_and_won(stack: Stack) -> None:
    contacts = stack.app("contacts")
    deals = stack.app("deals", transports={"contacts": httpx.ASGITransport(app=contacts)})
    t = tenant()
    async with client(contacts, token(t)) as cc, client(deals, token(t)) as dc:
        contact_id = (await cc.post(CONTACTS, json=person(1))).json()["id"]
        missing = await dc.post(DEALS, json={"title": "Nope", "amount": 5, "contact_id": 999999})
        assert missing.status_code == 422
        assert missing.json()["error"]["field"] == "body.contact_id"

        amounts = [1000.0, 250.5, 40.25]
        ids = []
        for n, amount in enumerate(amounts):
            r = await dc.post(DEALS, json={"title": f"Deal {n}", "amount": amount,
                                           "contact_id": contact_id})
            assert r.status_code == 201, r.text
            assert r.json()["stage"] == "prospecting" and r.json()["owner_id"] == "alice"
            ids.append(r.json()["id"])
        r = await dc.patch(f"{DEALS}/{ids[1]}", json={"stage": "negotiation"})
        assert r.status_code == 200 and r.json()["stage"] == "negotiation"
        assert (await dc.patch(f"{DEALS}/{ids[1]}", json={"stage": "closed_won"})).status_code \
            == 422

        before = metric_value(await scrape(dc), names.DEALS_WON_TOTAL)
        won = await dc.post(f"{DEALS}/{ids[0]}/won")
        assert won.status_code == 200 and won.json()["stage"] == "closed_won"
        assert won.json()["won_at"] is not None
        assert (await dc.post(f"{DEALS}/{ids[0]}/won")).status_code == 409
        assert (await dc.patch(f"{DEALS}/{ids[0]}", json={"stage": "proposal"})).status_code == 409
        after = metric_value(await scrape(dc), names.DEALS_WON_TOTAL, type="business")
        assert after - before == 1

        pipeline = (await dc.get(f"{DEALS}/pipeline")).json()
        per_stage = {s["stage"]: (s["count"], s["amount"]) for s in pipeline["stages"]}
        assert per_stage["closed_won"] == (1, 1000.0)
        assert per_stage["negotiation"] == (1, 250.5)
        assert per_stage["prospecting"] == (1, 40.25)
        assert per_stage["closed_lost"] == (0, 0.0)
        assert pipeline["total_count"] == 3
        assert pipeline["total_amount"] == pytest.approx(sum(amounts))
        assert pipeline["open_amount"] == pytest.approx(250.5 + 40.25)

        only = (await dc.get(DEALS, params={"stage": "negotiation"})).json()
        assert [d["id"] for d in only["items"]] == [ids[1]]
        assert (await dc.delete(f"{DEALS}/{ids[2]}")).status_code == 204
        assert (await dc.get(f"{DEALS}/{ids[2]}")).status_code == 404


async def test_lead_conversion_creates_account_and_contact(stack: Stack) -> None:
    contacts, accounts = stack.app("contacts"), stack.app("accounts")
    leads = stack.app("leads", transports={"contacts": httpx.ASGITransport(app=contacts),
                                           "accounts": httpx.ASGITransport(app=accounts)})
    t = tenant()
    bearer = token(t)
    async with client(leads, bearer) as lc, client(contacts, bearer) as cc, \
            client(accounts, bearer) as ac:
        lead = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
                "company": "Navy", "source": "event"}
        lead_id = (await lc.post(LEADS, json=lead)).json()["id"]
        r = await lc.post(f"{LEADS}/{lead_id}/convert")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["lead"]["status"] == "converted"
        contact = (await cc.get(f"{CONTACTS}/{body['contact_id']}")).json()
        assert contact["email"] == "grace@example.com"
        assert contact["account_id"] == body["account_id"]
        assert (await ac.get(f"{ACCOUNTS}/{body['account_id']}")).json()["name"] == "Navy"
        assert (await lc.post(f"{LEADS}/{lead_id}/convert")).status_code == 409
        assert (await lc.patch(f"{LEADS}/{lead_id}", json={"source": "web"})).status_code == 409

        # Same e-mail again: contacts refuses, the account made on the way is removed.
        twin = (await lc.post(LEADS, json={**lead, "company": "Twin"})).json()["id"]
        r = await lc.post(f"{LEADS}/{twin}/convert")
        assert r.status_code == 409
        assert (await ac.get(ACCOUNTS)).json()["total"] == 1
        assert (await lc.get(f"{LEADS}/{twin}")).json()["status"] == "new"
        listed = (await lc.get(LEADS, params={"status": "converted"})).json()
        assert [x["id"] for x in listed["items"]] == [lead_id]


async def test_cached_reads_follow_every_write(stack: Stack) -> None:
    # With Redis on, single reads and the pipeline are cached: each write must evict them.
    contacts = stack.app("contacts")
    deals = stack.app("deals", transports={"contacts": httpx.ASGITransport(app=contacts)})
    t = tenant()
    async with client(contacts, token(t)) as cc, client(deals, token(t)) as dc:
        made = await cc.post(CONTACTS, json=person(7))
        contact_id = made.json()["id"]
        # The total comes with the page, and on its own past the last page.
        assert (await cc.get(CONTACTS)).json()["total"] == 1
        beyond = (await cc.get(CONTACTS, params={"offset": 50})).json()
        assert (beyond["items"], beyond["total"]) == ([], 1)
        first = await cc.get(f"{CONTACTS}/{contact_id}")
        again = await cc.get(f"{CONTACTS}/{contact_id}")  # a hit when Redis is on
        assert first.json() == again.json() == made.json()
        assert again.headers["content-type"] == "application/json"
        await cc.patch(f"{CONTACTS}/{contact_id}", json={"company": "Analytical Engines"})
        assert (await cc.get(f"{CONTACTS}/{contact_id}")).json()["company"] == \
            "Analytical Engines"

        async def open_count() -> tuple[int, float]:
            body = (await dc.get(f"{DEALS}/pipeline")).json()
            return body["total_count"], body["open_amount"]

        assert await open_count() == (0, 0.0)
        deal = (await dc.post(DEALS, json={"title": "A", "amount": 10,
                                           "contact_id": contact_id})).json()
        assert await open_count() == (1, 10.0)
        assert (await dc.get(f"{DEALS}/{deal['id']}")).json()["amount"] == 10.0
        await dc.patch(f"{DEALS}/{deal['id']}", json={"amount": 12.5})
        assert (await dc.get(f"{DEALS}/{deal['id']}")).json()["amount"] == 12.5
        assert await open_count() == (1, 12.5)
        await dc.post(f"{DEALS}/{deal['id']}/won")
        assert (await dc.get(f"{DEALS}/{deal['id']}")).json()["stage"] == "closed_won"
        assert await open_count() == (1, 0.0)
        assert (await dc.delete(f"{DEALS}/{deal['id']}")).status_code == 204
        assert (await dc.get(f"{DEALS}/{deal['id']}")).status_code == 404
        assert await open_count() == (0, 0.0)
