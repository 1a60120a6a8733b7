"""Dashboard checks beyond the one-per-rule cases: variables, rows, SDK decoding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crm_observability.lint import LintConfig, catalog_from_registry, lint_paths
from crm_observability.lint.dashboards import substitute_variables
from crm_observability.lint.promql import PLACEHOLDER, analyze


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("rate(x[$__rate_interval])", "rate(x[5m])"),
        ("rate(x[${__interval}])", "rate(x[5m])"),
        ("increase(x[$__range])", "increase(x[5m])"),
        ("x > $__range_s", "x > 300"),
        ("rate(x[$window])", "rate(x[5m])"),
        ("max_over_time(x[1h:$step])", "max_over_time(x[1h:5m])"),
        ('x{service=~"$service", env="${env:regex}", t="[[team]]"}',
         'x{service=~"x", env="x", t="x"}'),
        ("sum by ($group) (x)", f"sum by ({PLACEHOLDER}) (x)"),
        ("$metric", PLACEHOLDER),
    ],
)
def test_substitute_variables(expr: str, expected: str) -> None:
    assert substitute_variables(expr) == expected
    assert analyze(expected).error is None


def _dashboard(panels: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"title": "T", "schemaVersion": 39, "panels": panels, **extra}


def _panel(pid: int, expr: str, **extra: Any) -> dict[str, Any]:
    panel = {"id": pid, "type": "timeseries", "title": f"P{pid}",
             "datasource": {"type": "prometheus", "uid": "prom"},
             "fieldConfig": {"defaults": {"unit": "short"}},
             "targets": [{"refId": "A", "expr": expr}]}
    panel.update(extra)
    return panel


def _lint(tmp_path: Path, data: Any, config: LintConfig | None = None) -> list[tuple[int, str]]:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data, indent=1))
    return [(f.line, f.rule_id) for f in lint_paths([path], config).findings]


def _line_of(tmp_path: Path, text: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``text`` in the written dashboard."""
    lines = (tmp_path / "d.json").read_text().splitlines()
    return [i for i, line in enumerate(lines, 1) if text in line][nth - 1]


def test_panels_inside_collapsed_rows_are_checked(tmp_path: Path) -> None:
    row = {"id": 1, "type": "row", "title": "R", "panels": [_panel(2, "sum(")]}
    found = _lint(tmp_path, _dashboard([row]))
    assert found == [(_line_of(tmp_path, '"expr": "sum("'), "promql-syntax")]


def test_sdk_decode_error_is_a_finding(tmp_path: Path) -> None:
    found = _lint(tmp_path, _dashboard([{"id": 1, "title": "no type"}]))
    assert (1, "dashboard-schema") in found


def test_schema_fields(tmp_path: Path) -> None:
    found = _lint(tmp_path, {"dashboard": {"panels": {"a": 1}}})
    assert [rule for _, rule in found] == ["dashboard-schema"] * 3


def test_duplicate_panel_ids(tmp_path: Path) -> None:
    found = _lint(tmp_path, _dashboard([_panel(1, "up"), _panel(1, "up")]))
    # reported at the second panel's opening brace (the line before its "id")
    assert found == [(_line_of(tmp_path, '"id": 1', 2) - 1, "dashboard-schema")]


def test_target_shapes(tmp_path: Path) -> None:
    panel = _panel(1, "up", targets=["bad", {"refId": "B"}], datasource="")
    found = _lint(tmp_path, _dashboard([panel]))
    assert ("dashboard-schema" in {r for _, r in found}
            and "dashboard-query" in {r for _, r in found}
            and "dashboard-datasource" in {r for _, r in found})


def test_legacy_string_datasource_fails_the_sdk_schema_only(tmp_path: Path) -> None:
    # Grafana < 8 named datasources by string; the SDK model wants {type, uid}.
    found = _lint(tmp_path, _dashboard([_panel(1, "up", datasource="Prometheus")]))
    assert found == [(1, "dashboard-schema")]


def test_dashboard_queries_are_checked_against_the_catalog(
    tmp_path: Path, registry: Any
) -> None:
    config = LintConfig(catalog=catalog_from_registry(registry))
    panel = _panel(1, "sum(rate(crm_users_active[$__rate_interval])) + nothing_here")
    found = _lint(tmp_path, _dashboard([panel]), config)
    assert sorted(r for _, r in found) == ["metric-unknown", "rate-on-non-counter"]


def test_variable_metric_is_not_unknown(tmp_path: Path, registry: Any) -> None:
    config = LintConfig(catalog=catalog_from_registry(registry))
    assert _lint(tmp_path, _dashboard([_panel(1, "sum by ($g) ($metric)")]), config) == []
