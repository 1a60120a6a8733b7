"""Property: whatever one tenant does, another tenant can neither see nor change it."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.services.conftest import Stack, client, tenant, token

EXAMPLES = int(os.environ.get("CRM_SERVICES_TENANCY_EXAMPLES", "15"))

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
                min_size=1, max_size=20)
# (resource, body) pairs the owner creates.
bodies = st.one_of(
    st.builds(lambda f, n: ("contacts", {"first_name": f, "last_name": "X",
                                         "email": f"u{n}@example.com"}),
              names, st.integers(0, 10**9)),
    st.builds(lambda n: ("accounts", {"name": n}), names),
    st.builds(lambda f, c: ("leads", {"first_name": f, "last_name": "Y", "company": c,
                                      "email": "lead@example.com"}), names, names),
)
# What the intruder tries on the owner's row.
attacks = st.sampled_from(["get", "patch", "delete", "list", "search", "convert"])


async def _scenario(apps: dict[str, Any], created: list[tuple[str, dict[str, Any]]],
                    moves: list[str]) -> None:
    owner, intruder = tenant(), tenant()
    rows: list[tuple[str, int, dict[str, Any]]] = []
    for resource, body in created:
        async with client(apps[resource], token(owner)) as c:
            r = await c.post(f"/api/v1/{resource}", json=body)
            if r.status_code == 409:  # a repeated e-mail in this example
                continue
            assert r.status_code == 201, r.text
            rows.append((resource, r.json()["id"], r.json()))
    # Same user name, same roles, other tenant: the tenant is the only difference.
    for (resource, row_id, _), move in zip(rows, moves, strict=False):
        async with client(apps[resource], token(intruder)) as c:
            path = f"/api/v1/{resource}/{row_id}"
            if move == "get":
                assert (await c.get(path)).status_code == 404
            elif move == "patch":
                field = "name" if resource == "accounts" else "last_name"
                assert (await c.patch(path, json={field: "pwned"})).status_code == 404
            elif move == "delete":
                assert (await c.delete(path)).status_code == 404
            elif move == "convert" and resource == "leads":
                assert (await c.post(f"{path}/convert")).status_code == 404
            else:
                params = {"q": "X"} if move == "search" and resource == "contacts" else {}
                listed = (await c.get(f"/api/v1/{resource}", params=params)).json()
                assert listed["total"] == 0 and listed["items"] == []
    # The owner still sees every row exactly as created.
    for resource, row_id, original in rows:
        async with client(apps[resource], token(owner)) as c:
            r = await c.get(f"/api/v1/{resource}/{row_id}")
            assert r.status_code == 200 and r.json() == original


def test_cross_tenant_reads_and_writes_are_impossible(stack: Stack) -> None:
    contacts, accounts = stack.app("contacts"), stack.app("accounts")
    leads = stack.app("leads", transports={"contacts": httpx.ASGITransport(app=contacts),
                                           "accounts": httpx.ASGITransport(app=accounts)})
    apps = {"contacts": contacts, "accounts": accounts, "leads": leads}

    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(created=st.lists(bodies, min_size=1, max_size=4),
           moves=st.lists(attacks, min_size=4, max_size=4))
    def run(created: list[tuple[str, dict[str, Any]]], moves: list[str]) -> None:
        asyncio.run(_scenario(apps, created, moves))

    run()
