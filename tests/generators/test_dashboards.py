"""Dashboards: structure of every panel, valid PromQL, metric names, SLO rows match their rules."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import promql_parser
import pytest
import yaml
from grafana_foundation_sdk.models import dashboard as gmodel

from crm_observability import conventions as names
from crm_observability.generators.artifacts import load_slo_specs
from crm_observability.generators.dashboards import (
    DashboardOptions,
    DashboardSpec,
    Panel,
    Query,
    Row,
    all_dashboards,
    all_panel_queries,
    build_dashboard,
    panel_queries,
)
from crm_observability.generators.render import render_json
from crm_observability.generators.slo_rules import render_rule_file
from crm_observability.slo.model import SLO, Alerting, EventsSLI, SLOSpec, TierAlerting
from tests.generators.helpers import REPO, selectors, substitute

SPECS = load_slo_specs(REPO)
DASHBOARDS = all_dashboards(SPECS)
FIXED = ("crm-platform-overview", "crm-service", "crm-business")
# Every series a dashboard may query: what the library exports, Prometheus' own, SLO rules.
EXPORTED = {
    *(f"{names.HTTP_SERVER_DURATION}_{s}" for s in ("bucket", "count", "sum")),
    *(f"{names.CONTACTS_SEARCH_DURATION}_{s}" for s in ("bucket", "count", "sum")),
    names.HTTP_SERVER_ACTIVE, names.HEALTH_CHECK_STATUS, names.HEALTH_GROUP_STATUS,
    names.DB_POOL_CONNECTIONS_IN_USE, names.DB_POOL_CONNECTIONS_MAX, names.CACHE_REQUESTS_TOTAL,
    names.CONTACTS_CREATED_TOTAL, names.DEALS_WON_TOTAL, names.USERS_ACTIVE,
    names.PROCESS_RESIDENT_MEMORY, names.TELEMETRY_ERRORS_TOTAL, names.SERIES_OVERFLOW_TOTAL,
    names.SCRAPE_UP, names.ALERTS_SERIES,
}


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_expected_dashboards_exist() -> None:
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert uids[:3] == list(FIXED)
    assert sorted(uids[3:]) == sorted(f"crm-slo-{s.service}" for s in SPECS)
    assert len(SPECS) >= 1
    for path, data in DASHBOARDS.items():
        assert path == f"{names.DASHBOARDS_DIR}/{data['uid']}.json"
        assert len(data["uid"]) <= 40


@pytest.mark.parametrize("path", sorted(DASHBOARDS))
def test_every_panel_is_complete(path: str) -> None:
    dashboard = DASHBOARDS[path]
    assert dashboard["schemaVersion"] == gmodel.Dashboard().schema_version
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in _panels(dashboard):
        where = f"{path}: panel {panel['id']} {panel['title']!r}"
        assert panel["description"], where
        assert panel["fieldConfig"]["defaults"]["unit"], where
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        assert panel["targets"], where
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], where
            assert target["refId"], where
            promql_parser.parse(substitute(target["expr"]))
            # Rates adapt to the scrape interval and zoom: never a fixed range.
            for window in re.findall(r"\[([^\]]+)\]", target["expr"]):
                assert window in {"$__rate_interval", "$__range"}, (where, window)
        grid = panel["gridPos"]
        assert 0 < grid["w"] <= 24 and grid["x"] + grid["w"] <= 24, where


@pytest.mark.parametrize("path", sorted(DASHBOARDS))
def test_template_variables(path: str) -> None:
    dashboard = DASHBOARDS[path]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    if dashboard["uid"] in FIXED:
        assert set(variables) == {"datasource", "environment", "service"}
        for name in ("environment", "service"):
            promql_parser.parse(substitute(
                variables[name]["query"].removeprefix("label_values(").rsplit(",", 1)[0]))
            assert variables[name]["datasource"]["uid"] == "${datasource}"
        # Every scoped query honours the variables it offers.
        for panel in _panels(dashboard):
            for target in panel["targets"]:
                for sel in selectors(substitute(target["expr"])):
                    labels = {m.name for m in sel.matchers.matchers}
                    if sel.name not in {names.SCRAPE_UP, names.ALERTS_SERIES,
                                        names.PROCESS_RESIDENT_MEMORY,
                                        names.TELEMETRY_ERRORS_TOTAL,
                                        names.SERIES_OVERFLOW_TOTAL}:
                        assert {"environment", "service"} <= labels, (panel["title"], sel)


def test_queries_use_only_exported_metrics_and_slo_rules() -> None:
    for dashboard, title, expr in all_panel_queries(SPECS):
        for sel in selectors(substitute(expr)):
            assert sel.name in EXPORTED or sel.name.startswith(names.SLO_RULE_PREFIX + ":"), (
                dashboard, title, sel.name)


def test_latency_panels_request_exemplars_for_trace_links() -> None:
    service = DASHBOARDS[f"{names.DASHBOARDS_DIR}/crm-service.json"]
    latency = [t for p in _panels(service) for t in p["targets"]
               if "histogram_quantile" in t["expr"]]
    assert latency and all(t.get("exemplar") is True for t in latency)
    links = [link["url"] for link in service["links"]]
    assert any("${service}" in url for url in links)


def test_options_change_the_links() -> None:
    options = DashboardOptions(traces_url="https://jaeger.example/search?service=${service}",
                               logs_url="https://logs.example/?q=${service}")
    service = all_dashboards((), options)[f"{names.DASHBOARDS_DIR}/crm-service.json"]
    assert [x["url"] for x in service["links"]] == [options.traces_url, options.logs_url]


def _recorded(spec: SLOSpec) -> tuple[set[tuple[str, str]], set[str]]:
    data = yaml.safe_load(render_rule_file(spec))
    records, alerts = set(), set()
    for group in data["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                records.add((rule["record"], rule["labels"][names.LABEL_SLO]))
            else:
                alerts.add(rule["alert"])
    return records, alerts


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.service)
def test_slo_dashboard_queries_rules_that_exist(spec: SLOSpec) -> None:
    dashboard = DASHBOARDS[f"{names.DASHBOARDS_DIR}/crm-slo-{spec.service}.json"]
    records, alerts = _recorded(spec)
    rows = [p for p in dashboard["panels"] if p["type"] == "row"]
    assert len(rows) == len(spec.slos)
    for _, title, expr in panel_queries(dashboard):
        for sel in selectors(expr):
            matchers = {m.name: m.value for m in sel.matchers.matchers}
            assert matchers[names.LABEL_SERVICE] == spec.service
            if sel.name == names.ALERTS_SERIES:
                assert matchers[names.LABEL_ALERTNAME] in alerts, title
            else:
                assert (sel.name, matchers[names.LABEL_SLO]) in records, (title, sel.name)


def _spec(**alerting: Any) -> SLOSpec:
    sli = EventsSLI('sum(rate(e[{{window}}]))', 'sum(rate(t[{{window}}]))')
    slo = SLO("availability", Decimal("99.5"), sli, period_seconds=7 * 86400,
              alerting=Alerting(**alerting))
    return SLOSpec("billing", (slo,), source="/somewhere/billing.slo.yml")


def test_slo_row_reads_objective_windows_and_tiers_from_the_spec() -> None:
    board = all_dashboards([_spec()])[f"{names.DASHBOARDS_DIR}/crm-slo-billing.json"]
    panels = {p["title"]: p for p in _panels(board)}
    sli = panels["SLI over 7d"]
    steps = sli["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "green", "value": 0.995}
    burn = [t["expr"] for t in panels["Burn rate per window"]["targets"]]
    # 7d period: the report windows shorter than the period, each divided by the budget
    assert [e.split("{")[0].rsplit("rate", 1)[1] for e in burn] == ["5m", "1h", "6h", "1d", "3d"]
    assert all(e.endswith("/ 0.005") for e in burn)
    tiers = panels["Alert tiers firing"]["targets"]
    assert [t["legendFormat"].split(":")[0] for t in tiers] == [
        "page fast", "page slow", "ticket fast", "ticket slow"]
    assert "billing.slo.yml" in board["description"] and "/somewhere" not in board["description"]


def test_disabled_tiers_are_left_out() -> None:
    off = TierAlerting(disabled=True)
    only_tickets = all_dashboards([_spec(page=off)])[f"{names.DASHBOARDS_DIR}/crm-slo-billing.json"]
    tiers = [p for p in _panels(only_tickets) if p["title"] == "Alert tiers firing"]
    assert [t["legendFormat"][:6] for t in tiers[0]["targets"]] == ["ticket", "ticket"]
    silent = all_dashboards([_spec(page=off, ticket=off)])[
        f"{names.DASHBOARDS_DIR}/crm-slo-billing.json"]
    assert "Alert tiers firing" not in {p["title"] for p in _panels(silent)}


def test_duplicate_panel_ids_are_refused() -> None:
    panel = Panel(1, "a", "b", "short", (Query("up"),))
    spec = DashboardSpec("x", "x", "x", (), (Row(1, "row", (panel,)),))
    with pytest.raises(ValueError, match="duplicate panel ids"):
        build_dashboard(spec)
    with pytest.raises(ValueError, match="unknown kind"):
        build_dashboard(DashboardSpec("x", "x", "x", (), (
            Row(10, "row", (Panel(1, "a", "b", "short", (Query("up"),), kind="pie"),)),)))


def test_rendering_is_byte_identical_across_processes() -> None:
    """Same input, same bytes, whatever the hash seed (no set ordering leaks)."""
    script = ("import sys; from crm_observability.generators.artifacts import _dashboards;"
              "from pathlib import Path; files = _dashboards(Path(sys.argv[1]));"
              "print(''.join(files[k] for k in sorted(files)), end='')")
    here = "".join(render_json(DASHBOARDS[k]) for k in sorted(DASHBOARDS))
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script, str(REPO)], env=env, cwd=REPO,
                             capture_output=True, text=True, check=True, timeout=180).stdout
        assert out == here
    assert json.loads(render_json(DASHBOARDS[f"{names.DASHBOARDS_DIR}/crm-service.json"]))


def test_public_names_are_sorted_and_importable() -> None:
    from crm_observability.generators import dashboards

    assert dashboards.__all__ == sorted(dashboards.__all__)
    assert all(hasattr(dashboards, name) for name in dashboards.__all__)
