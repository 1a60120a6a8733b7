"""The AnalysisTemplate queries, evaluated by promtool on synthetic series of two
revisions: the new revision's SLO ratios come out, the old revision's do not leak in."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_observability.generators.artifacts import load_slo_specs
from crm_observability.generators.deploy import AnalysisError, success_query
from crm_observability.generators.deploy.analysis import HASH_ARG, analysis_template
from crm_observability.generators.deploy.k8s_monitoring import PROMETHEUS_URL
from crm_observability.slo.model import SLO, EventsSLI, RawSLI, SLOSpec
from tests.deploy.conftest import ROOT, require_tool

COUNT = "http_server_request_duration_seconds_count"
BUCKET = "http_server_request_duration_seconds_bucket"


def _series(name: str, revision: str, values: str, **labels: str) -> dict[str, str]:
    pairs = {"service": "contacts-service", "rollouts_pod_template_hash": revision, **labels}
    text = ",".join(f'{k}="{v}"' for k, v in pairs.items())
    return {"series": f"{name}{{{text}}}", "values": values}


def _query(template: dict[str, Any], metric: str, revision: str) -> str:
    for m in template["spec"]["metrics"]:
        if m["name"] == metric:
            return str(m["provider"]["prometheus"]["query"]).replace(
                f"{{{{args.{HASH_ARG}}}}}", revision)
    raise KeyError(metric)


def test_success_queries_evaluate_per_revision(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    spec = next(s for s in load_slo_specs(ROOT) if s.service == "contacts-service")
    template = analysis_template(spec, "crm-prod", PROMETHEUS_URL)
    # New revision: 100 req per 15 s, 2 of them 5xx, 90 under 0.5 s, 97 under 2 s.
    # Old revision: 100 req per 15 s, all fine and fast, and no 5xx series at all.
    series = [
        _series(COUNT, "new", "0+98x20", http_response_status_code="200"),
        _series(COUNT, "new", "0+2x20", http_response_status_code="500"),
        _series(BUCKET, "new", "0+90x20", le="0.5"),
        _series(BUCKET, "new", "0+97x20", le="2.0"),
        _series(COUNT, "old", "0+100x20", http_response_status_code="200"),
        _series(BUCKET, "old", "0+100x20", le="0.5"),
        _series(BUCKET, "old", "0+100x20", le="2.0"),
    ]
    cases = [("availability", "new", 0.98), ("latency-p95", "new", 0.9),
             ("latency-p99", "new", 0.97), ("availability", "old", 1.0),
             ("latency-p95", "old", 1.0)]
    # round(): promtool compares floats exactly; 0.9 is 0.8999999999999999 after the division.
    tests = [{"expr": f"round({_query(template, metric, revision)}, 0.0001)", "eval_time": "4m",
              "exp_samples": [{"labels": "{}", "value": value}]}
             for metric, revision, value in cases]
    # A revision with no traffic yields no sample: neither condition holds (inconclusive).
    tests.append({"expr": _query(template, "availability", "idle"), "eval_time": "4m",
                  "exp_samples": []})
    test_file = tmp_path / "analysis.test.yml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": [], "evaluation_interval": "15s",
        "tests": [{"interval": "15s", "input_series": series, "promql_expr_test": tests}]}))
    out = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_wrong_expectation_fails_in_promtool(tmp_path: Path) -> None:
    # The harness above can fail: the same query with a wrong value is reported.
    promtool = require_tool("promtool")
    spec = next(s for s in load_slo_specs(ROOT) if s.service == "contacts-service")
    query = success_query(spec, 0).replace(f"{{{{args.{HASH_ARG}}}}}", "new")
    test_file = tmp_path / "wrong.test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [], "tests": [{
        "interval": "15s",
        "input_series": [_series(COUNT, "new", "0+100x20", http_response_status_code="200")],
        "promql_expr_test": [{"expr": query, "eval_time": "4m",
                              "exp_samples": [{"labels": "{}", "value": 0.5}]}]}]}))
    out = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode != 0


def _spec(sli: Any) -> SLOSpec:
    return SLOSpec(service="x-service", source="slo/x.slo.yml",
                   slos=(SLO(name="a", objective=Decimal("99"), sli=sli),))


def test_raw_sli_queries_are_restricted_too() -> None:
    raw = RawSLI('sum(rate(e{job="x"}[{{window}}])) / sum(rate(t{job="x"}[{{window}}]))')
    query = success_query(_spec(raw), 0)
    assert query.count('rollouts_pod_template_hash="{{args.pod-template-hash}}"') == 2
    assert "[2m]" in query and query.startswith("1 - (")


@pytest.mark.parametrize("error_query, reason", [
    ("sum(rate(errors_total[{{window}}]))", "has no braces"),
    ("sum(rate(errors_total{a=\"1\"}[{{window}}])", "does not parse"),
])
def test_queries_that_cannot_be_restricted_name_the_field(error_query: str,
                                                          reason: str) -> None:
    sli = EventsSLI(error_query=error_query, total_query='sum(rate(t{a="1"}[{{window}}]))')
    with pytest.raises(AnalysisError) as info:
        success_query(_spec(sli), 0)
    message = str(info.value)
    assert message.startswith("slo/x.slo.yml: slos[0].sli:") and reason in message
    assert "\n" not in message
