"""End to end on live data: a real exporter, a real Prometheus evaluating the generated rules.

The report must read the recording rules (source "rules"), split a grouped SLO into
its groups, and agree with the alerts Prometheus itself evaluates from the same
generated rule file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Histogram, start_http_server

from crm_observability import conventions as c
from crm_observability.demo.stack import prometheus_config, start_prometheus
from crm_observability.demo.supervisor import Supervisor, free_port
from crm_observability.generators.slo_rules import render_rule_file
from crm_observability.report import PrometheusClient, build_report, render_markdown
from crm_observability.report.model import FLAG_LOW_TRAFFIC, SOURCE_RULES
from crm_observability.slo import parse_spec
from tests.report.conftest import require_tool

SERVICE = "live-service"
H = c.HTTP_SERVER_DURATION
W = "{{window}}"
SPEC = f"""
apiVersion: crm-observability/v1
kind: SLOSpec
service: {SERVICE}
slos:
  - name: availability
    description: per tenant
    objective: 99.9
    sli:
      events:
        error_query: sum by (tenant) (rate({H}_count{{{c.LABEL_HTTP_STATUS}=~"5.."}}[{W}]))
        total_query: sum by (tenant) (rate({H}_count[{W}]))
  - name: guarded
    objective: 99.9
    sli:
      events:
        error_query: sum(rate({H}_count{{{c.LABEL_HTTP_STATUS}=~"5.."}}[{{{{window}}}}]))
        total_query: sum(rate({H}_count[{{{{window}}}}]))
    alerting:
      min_events: 100000000
      ticket: {{disabled: true}}
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_tool("prometheus")
    work = tmp_path_factory.mktemp("live")
    registry = CollectorRegistry()
    hist = Histogram(H, "requests", ["tenant", c.LABEL_HTTP_STATUS], registry=registry)
    port = free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def traffic() -> None:  # tenant a: 10% errors, tenant b: none
        while not stop.wait(0.05):
            for _ in range(9):
                hist.labels("a", "200").observe(0.01)
                hist.labels("b", "200").observe(0.01)
            hist.labels("a", "500").observe(0.01)
            hist.labels("b", "200").observe(0.01)

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    spec = parse_spec(SPEC, "live.slo.yml")
    rules = work / "live.rules.yml"
    rules.write_text(render_rule_file(spec))
    config = prometheus_config({"live": [f"127.0.0.1:{port}"]}, rule_files=[str(rules)],
                               interval="1s")
    try:
        with Supervisor(work / "logs") as supervisor:
            _, url = start_prometheus(supervisor, config, work, binary=binary)
            client = PrometheusClient(url)
            deadline = time.monotonic() + 60
            ready = f'ALERTS{{{c.LABEL_ALERTNAME}="SLOErrorBudgetBurnPageFast"}}'
            while time.monotonic() < deadline and not client.query(ready, time.time()):
                time.sleep(0.5)
            yield url
    finally:
        stop.set()
        thread.join()
        server.shutdown()


def test_report_reads_rules_and_agrees_with_prometheus_alerts(live: str) -> None:
    spec = parse_spec(SPEC, "live.slo.yml")
    with PrometheusClient(live) as client:
        at = time.time()
        report = build_report(client, [spec], at)
        alerts = client.query(f"{c.ALERTS_SERIES}{{{c.LABEL_SERVICE}=\"{SERVICE}\"}}", at)
    active = {(a.labels[c.LABEL_SLO], a.labels.get("tenant", ""), a.labels[c.LABEL_ALERTNAME])
              for a in alerts if a.labels[c.LABEL_ALERTNAME].startswith("SLOErrorBudgetBurn")}
    held = {(slo.name, group.labels.get("tenant", ""), tier.alert)
            for slo, group in report.groups() for tier in group.tiers if tier.holds}
    assert held == active
    assert ("availability", "a", "SLOErrorBudgetBurnPageFast") in held

    availability = report.slos[0]
    assert [dict(g.labels) for g in availability.groups] == [{"tenant": "a"}, {"tenant": "b"}]
    a, b = availability.groups
    assert a.paging and not b.ticketing
    assert a.window("5m").burn_rate == pytest.approx(100, rel=0.05)  # 10% / 0.1%
    assert b.window("5m").burn_rate == 0
    assert all(w.source == SOURCE_RULES for g in (a, b) for w in g.windows)
    assert a.flags == () and a.budget is not None and a.budget.exhausted


def test_traffic_guard_and_disabled_tier(live: str) -> None:
    spec = parse_spec(SPEC, "live.slo.yml")
    with PrometheusClient(live) as client:
        report = build_report(client, [spec])
    (guarded,) = report.slos[1].groups
    assert FLAG_LOW_TRAFFIC in guarded.flags
    page_fast = guarded.tiers[0]
    assert page_fast.long_burn is not None and page_fast.long_burn > page_fast.factor
    assert page_fast.low_traffic and not page_fast.holds
    assert [t.disabled for t in guarded.tiers] == [False, False, True, True]
    text = render_markdown(report)
    assert "low traffic" in text and "disabled" in text and "[tenant=a]" in text


def test_missing_service_is_no_data(live: str) -> None:
    ghost = f'{H}_count{{service="ghost"}}'
    spec = parse_spec(f"""
apiVersion: crm-observability/v1
kind: SLOSpec
service: ghost-service
slos:
  - name: availability
    objective: 99
    sli:
      events:
        error_query: sum(rate({ghost}[{{{{window}}}}]))
        total_query: sum(rate({ghost}[{{{{window}}}}]))
""", "ghost.slo.yml")
    with PrometheusClient(live) as client:
        report = build_report(client, [spec], with_history=True, history_seconds=600)
    group = report.slos[0].groups[0]
    assert group.status == "no-data" and group.budget is None and group.sli is None
    assert group.history is not None and group.history.budget_remaining == ()
