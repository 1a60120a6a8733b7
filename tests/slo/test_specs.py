"""Loaders (own v1, Sloth, OpenSLO) agree on the model; CLI generate; shipped specs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from crm_observability import conventions as names
from crm_observability.cli import main
from crm_observability.generators import build_rule_groups, render_rule_file
from crm_observability.slo import (
    SLO,
    EventsSLI,
    LatencySLI,
    RawSLI,
    SLOSpec,
    SpecError,
    load_spec_file,
    load_spec_files,
    parse_spec,
    validate,
)
from tests.slo.conftest import ROOT, SPECS

SERVICES = ("accounts-service", "contacts-service", "deals-service", "leads-service")


def test_v1_spec_model() -> None:
    spec = load_spec_file(SPECS / "v1-events.slo.yml")
    assert spec.service == "contacts-service"
    assert dict(spec.labels) == {"team": "crm-core"}
    (slo,) = spec.slos
    assert slo.objective == Decimal("99.9") and str(slo.error_budget) == "0.001"
    assert slo.period_seconds == 30 * 86400
    assert isinstance(slo.sli, EventsSLI) and "{{window}}" in slo.sli.total_query
    assert slo.alerting.page.for_seconds == 120 and slo.alerting.ticket.for_seconds == 900
    assert dict(slo.alerting.annotations) == {"runbook_url": "https://runbooks.example/slo"}


def test_sloth_and_v1_give_the_same_rules() -> None:
    sloth = load_spec_file(SPECS / "sloth-events.yml")
    (slo,) = sloth.slos
    assert isinstance(slo.sli, EventsSLI)
    assert "{{.window}}" not in slo.sli.error_query and "{{window}}" in slo.sli.error_query
    assert dict(slo.alerting.page.labels) == {"routing_key": "crm-core"}
    # The same SLO written in the project's format generates the same groups.
    doc = {
        "apiVersion": "crm-observability/v1", "kind": "SLOSpec", "service": sloth.service,
        "labels": dict(sloth.labels),
        "slos": [{"name": slo.name, "objective": 99.9, "description": slo.description,
                  "labels": dict(slo.labels),
                  "sli": {"events": {"error_query": slo.sli.error_query,
                                     "total_query": slo.sli.total_query}},
                  "alerting": {"labels": dict(slo.alerting.labels),
                               "annotations": dict(slo.alerting.annotations),
                               "page": {"labels": dict(slo.alerting.page.labels)},
                               "ticket": {"labels": dict(slo.alerting.ticket.labels)}}}],
    }
    v1 = parse_spec(yaml.safe_dump(doc), "same.yml")
    assert build_rule_groups(v1) == build_rule_groups(sloth)


def test_openslo_conversion() -> None:
    spec = load_spec_file(SPECS / "openslo-ratio.yml")
    search, listing = spec.slos
    assert spec.service == "contacts-service"
    assert search.objective == Decimal("99.5") and search.period_seconds == 28 * 86400
    assert isinstance(search.sli, EventsSLI)
    # counter: true wraps the bare selector in a rate over the window
    assert search.sli.total_query.startswith("sum(rate(http_server_request_duration_seconds"
                                             "_count{")
    assert search.sli.total_query.endswith("[{{window}}]))")
    assert dict(search.labels) == {"team": "crm-core"}
    # good + total: errors are total - good
    assert isinstance(listing.sli, EventsSLI)
    assert listing.sli.error_query.startswith("(sum(rate(") and ") - (sum(" in \
        listing.sli.error_query
    assert listing.objective == Decimal("99.95") and listing.period_seconds == 7 * 86400
    # Two documents in the file: fields are named per document.
    assert search.where("objective") == "[0].spec.objectives[0].target"
    assert listing.where("objective") == "[1].spec.objectives[0].targetPercent"


def test_python_api_equals_yaml() -> None:
    sli = LatencySLI(histogram=names.HTTP_SERVER_DURATION, threshold=Decimal("0.5"),
                     selector={"service": "deals-service", "http_route": "/deals/{id}"})
    built = SLOSpec(service="deals-service", slos=(SLO(name="latency-p95", objective=Decimal(95),
                                                      sli=sli),))
    validate(built)
    from_file = load_spec_file(SPECS / "v1-latency.slo.yml")
    ours = build_rule_groups(built)[0]["rules"]
    theirs = build_rule_groups(from_file)[0]["rules"]
    # Same SLI recordings (the file adds a label, a 28d period and alert settings).
    first = {r["record"]: r["expr"] for r in ours if r.get("record", "").endswith("rate5m")}
    second = {r["record"]: r["expr"] for r in theirs if r.get("record", "").endswith("rate5m")}
    assert first == second
    with pytest.raises(SpecError, match=r"<python>: slos\[0\]\.name: 'Bad' must match"):
        validate(SLOSpec(service="s", slos=(SLO(name="Bad", objective=Decimal(99),
                                                sli=RawSLI("x[{{window}}]")),)))


def test_latency_bucket_matcher_accepts_both_spellings() -> None:
    spec = load_spec_file(SPECS / "v1-latency.slo.yml")
    rules = build_rule_groups(spec)[1]["rules"]
    expr = next(r["expr"] for r in rules if r.get("record") == "crm_slo:sli_error:rate5m")
    assert 'le=~"2|2\\\\.0"' in expr  # Go clients write le="2", Python le="2.0"


def test_cli_generate_writes_and_is_byte_identical(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    specs = [str(SPECS / "v1-events.slo.yml"), str(SPECS / "v1-raw.slo.yml")]
    out = tmp_path / "out"
    assert main(["slo", "generate", *specs, "--out", str(out)]) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(first) == ["contacts-service.rules.yml", "leads-service.rules.yml"]
    assert "written" in capsys.readouterr().out
    assert main(["slo", "generate", *specs, "--out", str(out)]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert main(["slo", "generate", specs[0], "--out", str(out), "--format", "operator"]) == 0
    resource = yaml.safe_load((out / "contacts-service.rules.yml").read_text())
    assert resource["kind"] == "PrometheusRule"
    assert resource["metadata"]["name"] == "contacts-service-slo"


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(SPECS / "v1-events.slo.yml")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["slo", "generate", spec, "--out", str(blocker)]) == 2
    assert capsys.readouterr().err == f"crm-obs: {blocker}: --out: is not a directory\n"
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "contacts-service.rules.yml").mkdir()  # a directory where the file goes
    assert main(["slo", "generate", spec, "--out", str(locked)]) == 2
    assert "contacts-service.rules.yml: --out: cannot write" in capsys.readouterr().err
    assert main(["slo"]) == 2
    assert main(["slo", "validate", spec]) == 0
    assert "ok (contacts-service, 1 SLOs)" in capsys.readouterr().out


def test_shipped_specs_hold_the_design_document_slos() -> None:
    specs = load_spec_files(sorted((ROOT / "slo").glob("*.slo.yml")))
    assert tuple(s.service for s in specs) == SERVICES
    for spec in specs:
        by_name = {s.name: s for s in spec.slos}
        availability = by_name["availability"]
        assert (availability.objective, availability.period_seconds) == (Decimal("99.9"),
                                                                          30 * 86400)
        p95, p99 = by_name["latency-p95"], by_name["latency-p99"]
        assert isinstance(p95.sli, LatencySLI) and isinstance(p99.sli, LatencySLI)
        assert (p95.objective, p95.sli.threshold) == (95, Decimal("0.5"))
        assert (p99.objective, p99.sli.threshold) == (99, 2)
        assert p95.sli.histogram == names.HTTP_SERVER_DURATION
        assert dict(p95.sli.selector) == {names.LABEL_SERVICE: spec.service}
        committed = ROOT / "slo" / "rules" / f"{spec.service}.rules.yml"
        assert committed.read_text(encoding="utf-8") == render_rule_file(spec)


def test_operator_name_is_kubernetes_safe_and_runbook_defaults() -> None:
    spec = SLOSpec(service="Billing_API.v2", slos=(
        SLO(name="errors", objective=Decimal("99.5"), sli=RawSLI("x[{{window}}]")),))
    validate(spec)
    resource = yaml.safe_load(render_rule_file(spec, "operator"))
    assert resource["metadata"]["name"] == "billing-api-v2-slo"
    rules = resource["spec"]["groups"][0]["rules"]
    alerts = [r for r in rules if "alert" in r]
    assert len(alerts) == 5
    assert all(a["annotations"]["runbook_url"].endswith("docs/slo.md#runbook") for a in alerts)
