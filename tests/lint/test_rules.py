"""Rule-file structure and name checks on shapes the one-per-rule cases do not cover."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_observability.lint import LintConfig, lint_paths
from crm_observability.lint.rules import parse_duration

GOOD_ALERT = """\
      - alert: {name}
        expr: up == 0
        for: {duration}
        labels: {{severity: {severity}}}
        annotations: {{summary: s, description: d, runbook_url: "https://r.example.com/x"}}
"""


def _lint(tmp_path: Path, text: str, config: LintConfig | None = None) -> list[tuple[int, str]]:
    path = tmp_path / "rules.yml"
    path.write_text(text)
    return [(f.line, f.rule_id) for f in lint_paths([path], config).findings]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("groups: {a: 1}\n", [(1, "rule-structure")]),
        ("groups:\n  - 3\n", [(2, "rule-structure")]),
        ("groups:\n  - rules: []\n", [(2, "rule-structure")]),
        ("groups:\n  - name: g\n    rules: []\n    colour: red\n", [(4, "rule-structure")]),
        ("groups:\n  - name: g\n    rules: {}\n", [(2, "rule-structure")]),
        ("groups:\n  - name: g\n    rules: [7]\n", [(3, "rule-structure")]),
        ("groups:\n  - name: g\n    rules:\n      - {record: 'a:b:c', alert: X, expr: up}\n",
         [(4, "rule-structure")]),
        ("groups:\n  - name: g\n    rules:\n      - {record: 'a:b:c'}\n", [(4, "rule-structure")]),
        ("groups:\n  - name: g\n    rules:\n      - {record: 'a:b:c', expr: up, for: 5m}\n",
         [(4, "rule-structure")]),
        ("groups:\n  - name: g\n    rules:\n      - {record: 'a:b:c', expr: up, labels: [x]}\n",
         [(4, "rule-structure")]),
        ("groups:\n  - name: g\n    rules:\n      - record: 'a:b:c'\n        expr: up\n"
         "        labels: {x: [1]}\n", [(6, "rule-structure")]),
        ("groups:\n  - name: g\n    interval: 1 minute\n    rules: []\n",
         [(2, "duration-invalid")]),
        ("groups:\n  - name: g\n    interval: 30s\n    limit: 10\n    rules:\n"
         "      - {record: 'a:b:c', expr: 1}\n", []),
        ("groups:\n  - name: g\n    rules:\n      - {record: 'a-b:c:d', expr: up}\n",
         [(4, "name-invalid")]),
        ("groups:\n  - name: g\n    rules:\n      - {record: 'job:build:info', expr: up}\n"
         "      - {record: 'crm_slo_info', expr: vector(1)}\n", []),
    ],
)
def test_structure(tmp_path: Path, text: str, expected: list[tuple[int, str]]) -> None:
    assert _lint(tmp_path, text) == expected


def test_alert_names_keep_firing_for_and_annotation_names(tmp_path: Path) -> None:
    text = "groups:\n  - name: g\n    rules:\n" + GOOD_ALERT.format(
        name="'Service down'", duration="5m", severity="page"
    ) + "        keep_firing_for: soon\n"
    text = text.replace("description: d", "description: d, 2nd-line: x")
    found = _lint(tmp_path, text)
    assert sorted(r for _, r in found) == ["duration-invalid", "name-invalid", "name-invalid"]


def test_for_bounds_are_configurable(tmp_path: Path) -> None:
    text = "groups:\n  - name: g\n    rules:\n" + GOOD_ALERT.format(
        name="Down", duration="20m", severity="page")
    assert _lint(tmp_path, text) == [(6, "alert-for")]
    assert _lint(tmp_path, text, LintConfig(for_bounds={"page": 1800})) == []


def test_label_templates_in_labels_and_index_form(tmp_path: Path) -> None:
    text = "groups:\n  - name: g\n    rules:\n" + GOOD_ALERT.format(
        name="Down", duration="5m", severity="page"
    ).replace("up == 0", "sum(up) == 0").replace(
        "summary: s", 'summary: "{{ index $labels \\"job\\" }}"'
    ) + "        labels: {severity: page, team: '{{ .Labels.team }}'}\n"
    text = text.replace("        labels: {severity: page}\n", "", 1)
    found = _lint(tmp_path, text)
    assert [r for _, r in found] == ["alert-label-aggregated", "alert-label-aggregated"]


def test_scalar_expressions_are_read_as_strings(tmp_path: Path) -> None:
    text = ("groups:\n  - name: g\n    rules:\n      - {record: 'a:b:c', expr: 1}\n"
            "      - {record: 'a:b:d', expr: 0.5}\n      - {record: 'a:b:e', expr: 2020-01-01}\n")
    assert _lint(tmp_path, text) == [(6, "rule-structure")]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h30m", 5400), ("0", 0), ("1d", 86400), ("250ms", 0.25), ("2w", 1209600)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5 m", "1.5h", "-5m", "m"])
def test_parse_duration_rejects(text: str) -> None:
    assert parse_duration(text) is None


def test_removed_function_at_newer_target(tmp_path: Path) -> None:
    text = ("groups:\n  - name: g\n    rules:\n"
            "      - {record: 'a:b:smooth', expr: 'holt_winters(x[10m], 0.5, 0.5)'}\n")
    assert _lint(tmp_path, text) == []
    found = lint_paths([tmp_path / "rules.yml"], LintConfig(prometheus_version=(3, 0))).findings
    assert [(f.rule_id, f.message) for f in found] == [
        ("promql-version", "record 'a:b:smooth': function holt_winters was removed in 3.0 "
                           "(target 3.0)")]


def test_unparseable_alert_gets_only_the_syntax_finding(tmp_path: Path) -> None:
    text = "groups:\n  - name: g\n    rules:\n" + GOOD_ALERT.format(
        name="Down", duration="5m", severity="page").replace("up == 0", "up ==")
    assert _lint(tmp_path, text) == [(5, "promql-syntax")]
