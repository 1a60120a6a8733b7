"""One request, two services: one trace, and log lines of both carrying its id.

contacts-service runs under a real uvicorn on a loopback port; deals-service
calls it over real HTTP with the library's propagation.
"""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.trace import SpanKind

from crm_observability import conventions as names
from reference_services.common.config import ServiceConfig
from tests.services.conftest import SECRET, Stack, client, tenant, token
from tests.support import uvicorn_server

pytestmark = pytest.mark.anyio


async def test_deal_creation_is_one_trace_across_two_services(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    contacts = stack.app("contacts")
    t = tenant()
    bearer = token(t, "carol")
    with uvicorn_server(contacts) as contacts_url:
        async with httpx.AsyncClient(base_url=contacts_url,
                                     headers={"authorization": f"Bearer {bearer}"}) as real:
            r = await real.post("/api/v1/contacts", json={
                "first_name": "Carol", "last_name": "Shaw", "email": "carol@example.com"})
            assert r.status_code == 201
            contact_id = r.json()["id"]
        config = ServiceConfig(service="deals", database_url=stack.url("deals"),
                               jwt_secret=SECRET, contacts_url=contacts_url)
        deals = stack.app("deals", config=config)
        stack.exporter.clear()
        stack.log.truncate(0)
        stack.log.seek(0)
        async with client(deals, bearer) as dc:
            r = await dc.post("/api/v1/deals", json={"title": "Arcade", "amount": 1200,
                                                     "contact_id": contact_id})
        assert r.status_code == 201, r.text
        spans = stack.spans()

    servers = {s.resource.attributes["service.name"]: s for s in spans
               if s.kind == SpanKind.SERVER}
    assert set(servers) == {"deals-service", "contacts-service"}
    deal_span, contact_span = servers["deals-service"], servers["contacts-service"]
    trace_id = deal_span.context.trace_id
    assert contact_span.context.trace_id == trace_id
    assert deal_span.name == "POST /api/v1/deals"
    assert contact_span.name == "GET /api/v1/contacts/{contact_id}"
    # contacts' server span hangs under deals' outgoing client span.
    outgoing = [s for s in spans if s.kind == SpanKind.CLIENT and s.parent is not None
                and s.parent.span_id == deal_span.context.span_id]
    assert len(outgoing) == 1
    assert contact_span.parent is not None
    assert contact_span.parent.span_id == outgoing[0].context.span_id
    for span in (deal_span, contact_span):
        assert span.attributes[names.ATTR_TENANT_ID] == t
        assert span.attributes[names.ATTR_USER_ID] == "carol"

    hex_id = format(trace_id, "032x")
    access = [line for line in stack.log_lines() if line.get("logger") == names.ACCESS_LOGGER]
    routes = {line["route"]: line for line in access if line.get(names.LOG_TRACE_ID) == hex_id}
    assert set(routes) == {"/api/v1/deals", "/api/v1/contacts/{contact_id}"}
    for line in routes.values():
        assert line[names.CTX_TENANT_ID] == t
        assert line[names.CTX_USER_ID] == "carol"


async def test_contact_search_span_and_no_email_in_logs(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    app = stack.app("contacts")
    t = tenant()
    email = "secret.person@example.org"
    async with client(app, token(t)) as c:
        assert (await c.post("/api/v1/contacts", json={
            "first_name": "Secret", "last_name": "Person", "email": email})).status_code == 201
        assert (await c.post("/api/v1/contacts", json={
            "first_name": "Dup", "last_name": "Person", "email": email})).status_code == 409
        r = await c.get("/api/v1/contacts", params={"q": email})
        assert r.json()["total"] == 1
        assert (await c.get("/api/v1/contacts", params={"q": "nobody"})).json()["total"] == 0
    searches = [s for s in stack.spans() if s.name == names.SPAN_CONTACT_SEARCH]
    assert [(s.attributes[names.ATTR_QUERY_LENGTH], s.attributes[names.ATTR_RESULTS_COUNT])
            for s in searches] == [(len(email), 1), (6, 0)]
    for span in searches:
        assert span.attributes[names.ATTR_TENANT_ID] == t
        assert span.parent is not None  # inside the request's server span
    text = stack.log.getvalue()
    assert "/api/v1/contacts" in text  # the requests were logged...
    assert email not in text and "secret.person" not in text  # ...without the e-mail address
