"""Platform alerts: promtool checks and runs the generated suites; the model rejects bad input."""

from __future__ import annotations

import re
from pathlib import Path

import promql_parser
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from crm_observability import conventions as names
from crm_observability.generators.alerts import (
    AlertConfig,
    AlertConfigError,
    alert_rule_file,
    all_alert_exprs,
    duration_seconds,
    platform_alerts,
    render_alert_rules,
)
from crm_observability.generators.alerts_tests import (
    expand,
    humanize,
    humanize_duration,
    humanize_percentage,
    promtool_suites,
)
from crm_observability.generators.render import render_yaml
from tests.generators.helpers import REPO, promtool, selectors

EXPECTED_ALERTS = {
    names.ALERT_HIGH_ERROR_RATE, names.ALERT_HIGH_RESPONSE_TIME, names.ALERT_SERVICE_DOWN,
    names.ALERT_HIGH_MEMORY, names.ALERT_DB_POOL_EXHAUSTED, names.ALERT_ERROR_RATE_SLA,
    names.ALERT_THROUGHPUT_FLOOR, names.ALERT_READINESS_FAILING,
}


def _write_tree(root: Path, config: AlertConfig | None = None,
                suites_config: AlertConfig | None = None) -> list[Path]:
    rules = root / names.PLATFORM_RULES_FILE
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(render_alert_rules(config), encoding="utf-8")
    tests = []
    for path, text in promtool_suites(suites_config or config).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        tests.append(target)
    return tests


def test_every_alert_has_labels_annotations_and_for() -> None:
    rules = [r for g in alert_rule_file()["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} == EXPECTED_ALERTS
    for rule in rules:
        assert rule["labels"][names.LABEL_SEVERITY] in {names.SEVERITY_CRITICAL,
                                                         names.SEVERITY_WARNING}
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert rule["annotations"]["runbook_url"].endswith("#" + rule["alert"].lower())
        assert duration_seconds(rule["for"]) >= 60
        assert "$__rate_interval" not in rule["expr"]


def test_exprs_parse_and_query_only_exported_metrics() -> None:
    exported = {
        f"{names.HTTP_SERVER_DURATION}_count", f"{names.HTTP_SERVER_DURATION}_bucket",
        names.SCRAPE_UP, names.PROCESS_RESIDENT_MEMORY, names.PROCESS_MEMORY_LIMIT,
        names.DB_POOL_CONNECTIONS_IN_USE, names.DB_POOL_CONNECTIONS_MAX,
        names.HEALTH_GROUP_STATUS,
    }
    pairs = all_alert_exprs()
    assert [name for name, _ in pairs] == [r.name for r in platform_alerts()]
    for name, expr in pairs:
        used = {s.name for s in selectors(expr)}
        assert used <= exported, (name, used - exported)


def test_ratio_alerts_guard_the_denominator() -> None:
    for rule in platform_alerts():
        if "/" in rule.expr:
            # every division's right-hand side filters out zero (no NaN, no +Inf)
            denominators = rule.expr.split("\n/\n")[1:]
            assert all(re.search(r"\) > [0-9.]+\)", d) for d in denominators), rule.name


def test_thresholds_are_parameters() -> None:
    config = AlertConfig(error_ratio=0.25, response_time_p95_s=1.0, memory_ratio=0.5,
                         db_pool_ratio=0.75, sla_error_ratio=0.005, throughput_floor_rps=50,
                         throughput_environments=("production", "staging"), team="crm-core",
                         ratio_min_rps=0.5)
    exprs = dict(all_alert_exprs(config))
    assert exprs[names.ALERT_HIGH_ERROR_RATE].endswith("> 0.5)\n> 0.25")
    assert exprs[names.ALERT_HIGH_RESPONSE_TIME].endswith("> 1.0")
    assert 'environment=~"production|staging"' in exprs[names.ALERT_THROUGHPUT_FLOOR]
    assert exprs[names.ALERT_THROUGHPUT_FLOOR].endswith("< 50.0")
    assert all(r.labels[names.LABEL_TEAM] == "crm-core" for r in platform_alerts(config))
    assert names.LABEL_TEAM not in platform_alerts()[0].labels


@pytest.mark.parametrize(("changes", "field"), [
    ({"error_ratio": 0.0}, "error_ratio"),
    ({"memory_ratio": 1.5}, "memory_ratio"),
    ({"error_window": "5 minutes"}, "error_window"),
    ({"sla_error_window": "0m"}, "sla_error_window"),
    ({"response_time_p95_s": 10.0}, "response_time_p95_s"),
    ({"response_time_p95_s": 0.001}, "response_time_p95_s"),
    ({"throughput_environments": ()}, "throughput_environments"),
    ({"throughput_environments": ('prod"uction',)}, "throughput_environments"),
    ({"throughput_floor_rps": 0}, "throughput_floor_rps"),
])
def test_bad_parameters_name_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(AlertConfigError, match=f"^{field}"):
        AlertConfig(**changes)  # type: ignore[arg-type]


def test_committed_rules_pass_promtool_lint_and_their_suites() -> None:
    rules = REPO / names.PLATFORM_RULES_FILE
    checked = promtool("check", "rules", "--lint=all", "--lint-fatal", rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    suites = sorted((REPO / names.ALERT_TESTS_DIR).glob("*.test.yml"))
    assert len(suites) == len(EXPECTED_ALERTS)
    ran = promtool("test", "rules", *suites)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.count("SUCCESS") == len(EXPECTED_ALERTS)


def test_suites_follow_custom_thresholds(tmp_path: Path) -> None:
    config = AlertConfig(error_ratio=0.3, response_time_p95_s=7.6, memory_ratio=0.6,
                         db_pool_ratio=0.5, sla_error_ratio=0.02, throughput_floor_rps=20,
                         throughput_environments=("staging",), team="crm-core",
                         ratio_min_rps=1.0)
    suites = _write_tree(tmp_path, config)
    ran = promtool("test", "rules", *suites, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr


_RATIO = st.floats(0.0005, 0.95).map(lambda x: round(x, 4))


@settings(max_examples=4, derandomize=True, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(error=_RATIO, memory=_RATIO, pool=_RATIO, sla=_RATIO,
       p95=st.sampled_from([0.006, 0.3, 2.0, 7.6, 9.99]),
       floor=st.floats(0.5, 100000).map(lambda x: round(x, 2)),
       min_rps=st.sampled_from([0.0, 0.5, 3.0]))
def test_suites_hold_for_any_thresholds(tmp_path: Path, error: float, memory: float,
                                        pool: float, sla: float, p95: float, floor: float,
                                        min_rps: float) -> None:
    config = AlertConfig(error_ratio=error, memory_ratio=memory, db_pool_ratio=pool,
                         sla_error_ratio=sla, response_time_p95_s=p95,
                         throughput_floor_rps=floor, ratio_min_rps=min_rps)
    root = tmp_path / f"{error}-{memory}-{pool}-{sla}-{p95}-{floor}-{min_rps}"
    suites = _write_tree(root, config)
    ran = promtool("test", "rules", *suites)
    assert ran.returncode == 0, (config, ran.stdout[-2000:])


def test_suites_catch_a_wrong_threshold(tmp_path: Path) -> None:
    # Rules with a higher error threshold than the suites expect: "fires" must fail.
    suites = _write_tree(tmp_path, AlertConfig(error_ratio=0.9), suites_config=AlertConfig())
    ran = promtool("test", "rules", *[s for s in suites if "high-error-rate" in s.name])
    assert ran.returncode != 0
    assert "HighErrorRate" in ran.stdout + ran.stderr


def test_suites_catch_a_dropped_label(tmp_path: Path) -> None:
    suites = _write_tree(tmp_path)
    rules = tmp_path / names.PLATFORM_RULES_FILE
    # Aggregating the service away must break the rendered description.
    text = rules.read_text().replace("sum by (application, service, environment, instance)",
                                     "sum by (application, environment, instance)")
    rules.write_text(text)
    ran = promtool("test", "rules",
                   *[s for s in suites if "database-connection-pool" in s.name])
    assert ran.returncode != 0


VALUES = [0.0, 1.0, -5.0, 0.5, 0.001234, 12.345, 59.9, 60.0, 61.0, 3599.0, 3600.0,
          2 * 86400 + 5, 999.95, 1000.0, 1234567.0, 2.5e9, 1e-9, 0.000001, 0.999999, 4.875]


def test_template_functions_match_prometheus(tmp_path: Path) -> None:
    """expand() must render exactly what Prometheus renders (checked by promtool)."""
    rules, tests = [], []
    for i, v in enumerate(VALUES):
        annotations = {"h": "{{ $value | humanize }}", "d": "{{ $value | humanizeDuration }}",
                       "p": "{{ $value | humanizePercentage }}", "l": "{{ $labels.x }}!"}
        rules.append({"alert": f"V{i}", "expr": f'label_replace(vector({v!r}), "x", "y", "", "")',
                      "annotations": annotations})
        tests.append({"eval_time": "0m", "alertname": f"V{i}", "exp_alerts": [{
            "exp_labels": {"x": "y"},
            "exp_annotations": {k: expand(t, {"x": "y"}, v) for k, t in annotations.items()},
        }]})
    (tmp_path / "r.yml").write_text(render_yaml({"groups": [{"name": "g", "rules": rules}]}))
    (tmp_path / "t.yml").write_text(render_yaml({
        "rule_files": ["r.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [], "alert_rule_test": tests}],
    }))
    ran = promtool("test", "rules", tmp_path / "t.yml")
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_template_functions_by_example() -> None:
    assert humanize(1234567.0) == "1.235M"
    assert humanize(0.001234) == "1.234m"
    assert humanize_duration(3661.0) == "1h 1m 1s"
    assert humanize_duration(0.0123) == "12.3ms"
    assert humanize_duration(float("nan")) == "nan"
    assert humanize_percentage(0.001) == "0.1%"
    with pytest.raises(ValueError, match="not supported"):
        expand("{{ $value | printf \"%.2f\" }}", {}, 1.0)


def test_rule_file_is_deterministic_yaml() -> None:
    text = render_alert_rules()
    assert text == render_alert_rules()
    assert text.startswith("# generated by crm-obs")
    data = yaml.safe_load(text)
    for group in data["groups"]:
        for rule in group["rules"]:
            promql_parser.parse(rule["expr"])
