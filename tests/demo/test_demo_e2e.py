"""The demo end to end in fast mode: the incident pages, the report shows the budget spent.

Runs ``crm-obs demo --fast`` in-process (real services, Prometheus, Alertmanager and
webhook on loopback) and reads the files it leaves behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_observability.cli import main
from tests.demo.conftest import alive, processes_mentioning

pytestmark = pytest.mark.slow


def test_fast_demo_pages_for_the_incident_and_reports_the_budget(
        tmp_path: Path, demo_binaries: None, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--fast", "--duration", "90", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "phase errors" in printed and "Alerts received from Alertmanager" in printed

    alerts = json.loads((out / "alerts.json").read_text())
    pages = {(a["labels"]["alertname"], a["labels"]["service"], a["labels"].get("slo"))
             for a in alerts if a["status"] == "firing" and a["labels"].get("severity") == "page"}
    assert ("SLOErrorBudgetBurnPageFast", "deals-service", "availability") in pages
    assert all(service == "deals-service" for _, service, _ in pages)

    report = json.loads((out / "report.json").read_text())
    by_key = {(s["service"], s["slo"]): s["groups"][0] for s in report["slos"]}
    deals = by_key[("deals-service", "availability")]
    assert deals["budget"]["consumed"] > 0.5 and deals["status"] == "page"
    assert {w["source"] for w in deals["windows"]} == {"rules"}
    for service in ("contacts-service", "leads-service", "accounts-service"):
        healthy = by_key[(service, "availability")]
        assert healthy["budget"]["consumed"] == 0 and healthy["status"] == "ok"
    html = (out / "report.html").read_text()
    assert html.count('class="chart budget"') == len(report["slos"])
    assert (out / "report.md").read_text().startswith("# SLO report")

    processes = json.loads((out / "processes.json").read_text())["processes"]
    assert set(processes) == {"alertmanager", "contacts-service", "deals-service",
                              "leads-service", "accounts-service", "prometheus"}
    assert not [name for name, pid in processes.items() if alive(pid)]
    assert processes_mentioning(str(out)) == []
