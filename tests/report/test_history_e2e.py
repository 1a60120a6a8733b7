"""End to end: 30 days of history with known error ratios in a real Prometheus.

The history was loaded before any recording rule existed, so every number comes
from the raw SLI fallback; the expected values are integrals of the synthetic
phases, computed without Prometheus.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_observability.cli import main
from crm_observability.report import PrometheusClient, build_report
from crm_observability.report.model import FLAG_RULES_MISSING, SOURCE_RAW
from crm_observability.slo import load_spec_file, tiers_for
from tests.report import synthetic

TOLERANCE = 0.001  # 0.1% of the error budget


@pytest.fixture(scope="module")
def report(history_prometheus: str, history_spec: Path):
    spec = load_spec_file(history_spec)
    with PrometheusClient(history_prometheus) as client:
        return build_report(client, [spec], synthetic.AT, with_history=True)


@pytest.mark.parametrize(("slo_name", "slow", "allowed"),
                         [("availability", False, 0.001), ("ratio", False, 0.001),
                          ("latency", True, 0.05)])
def test_budget_and_burn_rates_match_the_known_history(report, slo_name, slow, allowed):
    slo = next(s for s in report.slos if s.name == slo_name)
    (group,) = slo.groups
    assert slo.sli_kind == {"ratio": "raw", "latency": "latency"}.get(slo_name, "events")
    period_ratio = synthetic.expected_ratio(30 * synthetic.DAY, slow=slow)
    assert group.budget is not None
    assert group.budget.remaining == pytest.approx(1 - period_ratio / allowed, abs=TOLERANCE)
    assert group.budget.consumed == pytest.approx(period_ratio / allowed, abs=TOLERANCE)
    assert group.budget.remaining_at_allowed_rate_s == pytest.approx(
        (1 - period_ratio / allowed) * slo.period_seconds, rel=0.001)
    assert group.budget.total_seconds == pytest.approx(allowed * slo.period_seconds)
    assert group.sli == pytest.approx(1 - period_ratio, abs=TOLERANCE * allowed)
    assert [w.window for w in group.windows] == ["5m", "1h", "6h", "1d", "3d", "30d"]
    for window in group.windows:
        expected = synthetic.expected_ratio(window.seconds, slow=slow) / allowed
        assert window.burn_rate == pytest.approx(expected, abs=TOLERANCE), window.window
        assert window.source == SOURCE_RAW
    # Tier conditions use the generator's windows and factors.
    for tier, status in zip(tiers_for(slo.period_seconds), group.tiers, strict=True):
        long_burn = synthetic.expected_ratio(tier.long_window, slow=slow) / allowed
        short_burn = synthetic.expected_ratio(tier.short_window, slow=slow) / allowed
        assert status.long_burn == pytest.approx(long_burn, abs=TOLERANCE)
        assert status.short_burn == pytest.approx(short_burn, abs=TOLERANCE)
        assert status.holds == (long_burn > float(tier.factor) and short_burn > float(tier.factor))
    assert FLAG_RULES_MISSING in group.flags
    # At the 5m burn rate the remaining budget lasts remaining * period / burn.
    burn_5m = synthetic.expected_ratio(300, slow=slow) / allowed
    assert group.exhaustion_seconds == pytest.approx(
        (1 - period_ratio / allowed) * slo.period_seconds / burn_5m, rel=0.01)


def test_the_known_incident_pages_and_the_healthy_slo_does_not(report) -> None:
    by_name = {s.name: s.groups[0] for s in report.slos}
    assert by_name["availability"].paging and by_name["availability"].status == "page"
    assert not by_name["latency"].ticketing and by_name["latency"].status == "ok"


def test_history_ends_at_the_reported_numbers(report) -> None:
    group = report.slos[0].groups[0]
    history = group.history
    assert history is not None and history.end == synthetic.AT
    last_t, last_remaining = history.budget_remaining[-1]
    assert last_t == synthetic.AT
    assert last_remaining == pytest.approx(group.budget.remaining, abs=TOLERANCE)
    assert history.burn_rates["1h"][-1][1] == pytest.approx(group.window("1h").burn_rate,
                                                            abs=TOLERANCE)
    assert len(history.budget_remaining) >= 50


@pytest.mark.parametrize(("level", "objective", "code"), [
    ("page", "99.9", 1), ("ticket", "99.9", 1), ("exhausted", "99.9", 0),
    ("exhausted", "99.95", 1),  # 0.0643% errors over 30d overspend a 0.05% budget
])
def test_fail_on_gates_the_exit_code(history_prometheus: str, tmp_path: Path, capsys,
                                     level: str, objective: str, code: int) -> None:
    spec = tmp_path / "gate.slo.yml"
    spec.write_text(synthetic.SPEC.replace("objective: 99.9", f"objective: {objective}"))
    out = tmp_path / "report.json"
    status = main(["slo", "report", "--prometheus", history_prometheus, str(spec),
                   "--at", "2026-01-15T00:00:00Z", "--format", "json", "--out", str(out),
                   "--fail-on", level])
    assert status == code
    data = json.loads(out.read_text())
    availability = data["slos"][0]["groups"][0]
    assert availability["budget"]["exhausted"] == (objective == "99.95")
    err = capsys.readouterr().err
    if code:
        assert f"--fail-on {level}: {synthetic.SERVICE}/availability" in err


def test_cli_prints_the_table_at_a_fixed_time(history_prometheus: str, history_spec: Path,
                                              capsys) -> None:
    status = main(["slo", "report", "--prometheus", history_prometheus, str(history_spec),
                   "--at", str(synthetic.AT)])
    out = capsys.readouterr().out
    assert status == 0
    assert "2026-01-15T00:00:00Z" in out
    assert "availability" in out and "latency" in out
    assert "50.00x" in out  # 5m burn of the availability SLO: 5% errors / 0.1% budget
