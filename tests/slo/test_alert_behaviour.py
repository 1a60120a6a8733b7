"""Generated ``promtool test rules`` suites prove each tier fires, stays silent and clears.

Default: every objective and every period of the issue, each at least once (five
pairs).  ``CRM_OBS_SLO_FULL_MATRIX=1`` runs all 15 objective x period pairs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from crm_observability.generators import render_rule_file, render_yaml
from crm_observability.generators.slo_rules import alert_name
from crm_observability.generators.slo_tests import (
    ABOVE,
    build_test_suites,
    synthetic_spec,
)
from crm_observability.slo import tiers_for

DAY = 86400
OBJECTIVES = ("99", "99.5", "99.9", "99.95", "99.99")
PERIODS = (7 * DAY, 28 * DAY, 30 * DAY)
if os.environ.get("CRM_OBS_SLO_FULL_MATRIX") == "1":
    PAIRS = [(o, p) for o in OBJECTIVES for p in PERIODS]
else:
    PAIRS = [(o, PERIODS[i % len(PERIODS)]) for i, o in enumerate(OBJECTIVES)]
PromtoolTest = Callable[[list[str]], tuple[int, str]]


def write_suites(tmp_path: Path, objective: str, period: int,
                 min_events: int | None = None) -> list[str]:
    spec = synthetic_spec(objective, period, min_events=min_events)
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rule_file(spec))
    files = []
    for interval, suite in build_test_suites(spec, [str(rules)]).items():
        path = tmp_path / f"test-{interval}.yml"
        path.write_text(render_yaml(suite))
        files.append(str(path))
    return files


@pytest.mark.slow
@pytest.mark.parametrize(("objective", "period"), PAIRS,
                         ids=[f"{o}-{p // DAY}d" for o, p in PAIRS])
def test_generated_suite_passes(objective: str, period: int, tmp_path: Path,
                                promtool_test: PromtoolTest) -> None:
    files = write_suites(tmp_path, objective, period)
    code, output = promtool_test(files)
    assert code == 0, output[-5000:]
    assert output.count("SUCCESS") == len(files)


def test_minimum_events_guard_suite_passes(tmp_path: Path,
                                           promtool_test: PromtoolTest) -> None:
    files = write_suites(tmp_path, "99.9", 30 * DAY, min_events=1000)
    names = [t["name"] for f in files for t in yaml.safe_load(Path(f).read_text())["tests"]]
    assert sum("minimum-events guard" in n for n in names) == 4
    code, output = promtool_test(files)
    assert code == 0, output[-5000:]


def test_suites_fail_against_broken_rules(tmp_path: Path,
                                          promtool_test: PromtoolTest) -> None:
    # The suites are not vacuous: a rule file whose page threshold is twice too
    # high (the factor applied to the ratio instead of the budget) must fail them.
    files = write_suites(tmp_path, "99.9", 30 * DAY)
    rules = tmp_path / "rules.yml"
    text = rules.read_text()
    assert text.count("/ 0.001 > 14.4") == 2
    rules.write_text(text.replace("/ 0.001 > 14.4", "/ 0.001 > 28.8"))
    code, output = promtool_test(files[:1])  # the 1m suite holds the fast page tier
    assert code != 0
    assert "SLOErrorBudgetBurnPageFast: fires within the detection time" in output


def test_suite_shape_follows_the_workbook() -> None:
    spec = synthetic_spec(Decimal("99.9"), 30 * DAY)
    suites = build_test_suites(spec, ["rules.yml"])
    assert list(suites) == ["1m", "5m", "15m", "1h"]
    tests = {t["name"]: t for s in suites.values() for t in s["tests"]}
    fast = tests["SLOErrorBudgetBurnPageFast: fires within the detection time"]
    # 61 clean samples, then detection 1h/1.05 + for 2m (60 samples), one more: 122 min
    assert fast["promql_expr_test"][0]["eval_time"] == "2h2m"
    for tier in tiers_for(30 * DAY):
        assert f"{alert_name(tier)}: silent just under the factor" in tests
        assert f"{alert_name(tier)}: clears within the short window after errors stop" in tests
    assert Decimal("1.05") == ABOVE
    with pytest.raises(ValueError, match="synthetic_spec"):
        build_test_suites(spec.__class__(service="other", slos=spec.slos), ["r.yml"])


def test_small_burn_rates_are_checked_without_annotations(tmp_path: Path,
                                                         promtool_test: PromtoolTest) -> None:
    # A 2-hour period (below what validation accepts, but the generator copes): page
    # factors are under 1, where Go's humanize prints milli-units, so the suite checks
    # the ALERTS series instead of the rendered annotation.
    assert min(t.factor for t in tiers_for(2 * 3600)) < 1
    suites = build_test_suites(synthetic_spec("99.9", 2 * 3600), ["rules.yml"])
    fires = [t for s in suites.values() for t in s["tests"] if "fires" in t["name"]]
    assert any(len(t["promql_expr_test"]) == 2 for t in fires)
    code, output = promtool_test(write_suites(tmp_path, "99.9", 2 * 3600))
    assert code == 0, output[-5000:]
