"""Every dashboard panel query and every alert/rule expression, against a real Prometheus.

Prometheus (1 s scrape and evaluation) scrapes the four reference services
under traffic and loads the committed rule files.  Each panel query, with the
Grafana variables replaced by values that fit a 1 s scrape, must succeed and
return data; each alert and recording-rule expression must evaluate without
error, and Prometheus' own rule manager must report every rule healthy.
Failures are collected and reported together, never just the first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from crm_observability import conventions as names
from crm_observability.generators.alerts import all_alert_exprs
from crm_observability.generators.dashboards.queries import VAR_ENVIRONMENT, VAR_SERVICE
from crm_observability.slo.model import SLOSpec

from .checks import (
    SERVICE_NAMES,
    check_exemplars,
    check_panels,
    epoch,
    exemplar_cases,
    loaded_rules,
    panel_cases,
    poll,
    query,
    rule_file_rules,
    variable_queries,
)
from .conftest import Live
from .stack import ENVIRONMENT, SERVICES_JOB

pytestmark = pytest.mark.slow

DATA_TIMEOUT_S = 45.0  # panels must have data this long after the targets are up
RULE_CYCLES = 3  # evaluation cycles every rule must complete before the verdict
RULES_TIMEOUT_S = 30.0
MIN_ROUNDS = 3  # traffic rounds before any check (each round hits every endpoint kind)

# Panels that legitimately return no data in this test, each with its reason.
# An entry that starts returning data fails the test, so the list cannot go stale.
NO_DATA_ALLOWED = {
    ("CRM service", "Cache hit ratio", "leads-service"):
        "leads-service reads nothing through its cache (only contacts, deals and accounts "
        "do): its lookup counter stays at 0, and a ratio over no lookups is a gap by design",
}
# What one traffic round must leave in Prometheus: (service, method, route, status).
EXPECTED_REQUESTS = {
    ("contacts-service", "POST", "/api/v1/contacts", "201"),
    ("contacts-service", "GET", "/api/v1/contacts", "200"),
    ("contacts-service", "GET", "/api/v1/contacts/{contact_id}", "200"),
    ("contacts-service", "PATCH", "/api/v1/contacts/{contact_id}", "200"),
    ("contacts-service", "GET", "/api/v1/contacts/{contact_id}", "404"),
    ("contacts-service", "POST", "/api/v1/contacts", "422"),
    ("accounts-service", "POST", "/api/v1/accounts", "201"),
    ("accounts-service", "POST", "/api/v1/accounts", "403"),
    ("accounts-service", "DELETE", "/api/v1/accounts/{account_id}", "204"),
    ("deals-service", "POST", "/api/v1/deals", "201"),
    ("deals-service", "GET", "/api/v1/deals", "401"),
    ("deals-service", "GET", "/api/v1/deals/pipeline", "200"),
    ("deals-service", "POST", "/api/v1/deals/{deal_id}/won", "200"),
    ("deals-service", "POST", "/api/v1/deals/{deal_id}/won", "409"),
    ("leads-service", "POST", "/api/v1/leads/{lead_id}/convert", "200"),
    ("leads-service", "POST", "/api/v1/leads", "422"),
}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as c:
        yield c


def test_traffic_reached_every_endpoint_kind(live: Live, client: httpx.Client) -> None:
    live.traffic.wait_rounds(MIN_ROUNDS)
    assert not live.traffic.surprises, f"unexpected answers (logs in {live.work}):\n" + (
        "\n".join(map(str, live.traffic.surprises[:20])))
    by = (names.LABEL_SERVICE, names.LABEL_HTTP_METHOD, names.LABEL_HTTP_ROUTE,
          names.LABEL_HTTP_STATUS)
    expr = (f"count by ({', '.join(by)}) "
            f'({names.HTTP_SERVER_DURATION}_count{{{names.LABEL_JOB}="{SERVICES_JOB}"}})')

    def seen() -> set[tuple[str, ...]]:
        result, error = query(client, live.prometheus, expr)
        assert not error, error
        return {tuple(r["metric"][label] for label in by) for r in result}

    deadline = time.monotonic() + 10  # the last round may not be scraped yet
    while not (found := seen()) >= EXPECTED_REQUESTS and time.monotonic() < deadline:
        time.sleep(0.5)
    assert found >= EXPECTED_REQUESTS, f"missing: {sorted(EXPECTED_REQUESTS - found)}"
    routes = {route for _, _, route, _ in found}
    # Route templates only (never a raw id), and the probes stay out of the request metrics.
    assert not [r for r in routes if re.search(r"/\d+(/|$)", r)], routes
    assert not [r for r in routes if r.startswith(names.HEALTH_PATH)], routes


def test_every_dashboard_panel_query_returns_data(live: Live, client: httpx.Client,
                                                  slo_specs: list[SLOSpec]) -> None:
    cases = panel_cases(slo_specs)
    assert {c.dashboard for c in cases} >= {
        "CRM platform overview", "CRM service", "CRM business metrics",
        *(f"SLOs: {s.service}" for s in slo_specs)}
    live.traffic.wait_rounds(MIN_ROUNDS)
    failures = poll(lambda: check_panels(client, live.prometheus, cases, NO_DATA_ALLOWED),
                    DATA_TIMEOUT_S)
    assert not failures, f"{len(failures)} of {len(cases)} panel queries failed:\n" + (
        "\n".join(failures))


def test_latency_panels_get_exemplars_with_trace_ids(live: Live, client: httpx.Client,
                                                     slo_specs: list[SLOSpec]) -> None:
    cases = exemplar_cases(slo_specs)
    assert {c.dashboard for c in cases} >= {"CRM platform overview", "CRM service"}
    live.traffic.wait_rounds(MIN_ROUNDS)
    failures = poll(lambda: check_exemplars(client, live.prometheus, cases), DATA_TIMEOUT_S)
    assert not failures, f"{len(failures)} of {len(cases)} exemplar queries failed:\n" + (
        "\n".join(failures))


def test_template_variables_offer_the_values_used(live: Live, client: httpx.Client,
                                                  slo_specs: list[SLOSpec]) -> None:
    """The dashboards' own label_values() queries list the environment and every service."""
    wanted = {VAR_ENVIRONMENT: {ENVIRONMENT}, VAR_SERVICE: set(SERVICE_NAMES)}
    variables = variable_queries(slo_specs)
    assert len(variables) >= 4  # environment and service on the three fixed dashboards
    live.traffic.wait_rounds(MIN_ROUNDS)
    for dashboard, variable, label, selector in variables:
        body = client.get(f"{live.prometheus}/api/v1/label/{label}/values",
                          params={"match[]": selector}).json()
        assert body["status"] == "success", body
        assert wanted[variable] <= set(body["data"]), (dashboard, variable, body["data"])


def test_every_alert_and_rule_expression_evaluates(live: Live, client: httpx.Client) -> None:
    live.traffic.wait_rounds(MIN_ROUNDS)
    exprs = [("alerts.py", name, expr) for name, expr in all_alert_exprs()]
    exprs += rule_file_rules()
    failures = [f"{source} {name}: {error}\n  {expr}" for source, name, expr in exprs
                if (error := query(client, live.prometheus, expr)[1])]
    assert not failures, f"{len(failures)} of {len(exprs)} expressions failed:\n" + (
        "\n".join(failures))


def test_prometheus_evaluates_every_loaded_rule_healthily(live: Live,
                                                          client: httpx.Client) -> None:
    live.traffic.wait_rounds(MIN_ROUNDS)
    since = time.time() + RULE_CYCLES  # every rule must have been evaluated after this

    def pending() -> list[str]:
        return [f"{r['group']}/{r['name']}: last evaluated {r['lastEvaluation']}"
                for r in loaded_rules(client, live.prometheus)
                if epoch(r["lastEvaluation"]) < since]

    late = poll(pending, RULES_TIMEOUT_S)
    assert not late, "rules not evaluated for a few cycles:\n" + "\n".join(late[:20])
    rules = loaded_rules(client, live.prometheus)
    in_files = rule_file_rules()
    # Prometheus loaded every rule of every file (names repeat across SLO groups).
    assert sorted(r["name"] for r in rules) == sorted(name for _, name, _ in in_files)
    unhealthy = [f"{r['group']}/{r['name']}: health={r['health']} error={r.get('lastError')!r}"
                 for r in rules if r["health"] != "ok" or r.get("lastError")]
    assert not unhealthy, f"{len(unhealthy)} of {len(rules)} rules unhealthy:\n" + (
        "\n".join(unhealthy))
