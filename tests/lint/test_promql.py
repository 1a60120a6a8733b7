"""PromQL analysis: features by version, label inference, division guards, filters."""

from __future__ import annotations

import pytest

from crm_observability.lint.labelset import LabelSet
from crm_observability.lint.promql import (
    analyze,
    parse_version,
    valid_label_name,
    valid_metric_name,
)


def _features(expr: str) -> list[tuple[str, tuple[int, int], bool]]:
    return [(f.description, f.since, f.experimental) for f in analyze(expr).features]


def test_parse_error_is_reported_not_raised() -> None:
    assert analyze("sum(rate(x[5m])").error == "unclosed left parenthesis"
    assert analyze("   ").error == "empty expression"
    assert analyze("rate(x[5m])").error is None


def test_analysis_is_cached_per_expression() -> None:
    assert analyze("sum(up) by (job)") is analyze("sum(up) by (job)")


@pytest.mark.parametrize(
    ("expr", "feature"),
    [
        ("rate(x[300])", "duration without a unit"),
        ("rate(x[5m:60])", "duration without a unit"),
        ("x offset 300", "duration without a unit"),
        ('{"http.server.duration"}', "UTF-8 metric name 'http.server.duration'"),
        ('x{a="1" or b="2"}', "'or' inside label matchers"),
        ("histogram_avg(x)", "function histogram_avg"),
    ],
)
def test_features_newer_than_2_42(expr: str, feature: str) -> None:
    found = _features(expr)
    assert [f for f in found if f[0] == feature and f[1] > (2, 42)], found


def test_units_inside_strings_are_not_durations() -> None:
    assert _features('x{le="[300]"} offset 5m') == []


@pytest.mark.parametrize(
    "expr",
    ["limitk(2, x)", "limit_ratio(0.5, x)", "double_exponential_smoothing(x[5m], 0.5, 0.5)",
     "info(x)", "ts_of_max_over_time(x[5m])", 'sort_by_label(x, "a")', "mad_over_time(x[5m])"],
)
def test_experimental_features(expr: str) -> None:
    assert any(experimental for _, _, experimental in _features(expr)), _features(expr)


def test_holt_winters_parses_and_is_marked_removed_in_3() -> None:
    analysis = analyze("holt_winters(x[10m], 0.5, 0.5)")
    assert analysis.error is None
    assert analysis.features[0].removed == (3, 0)


def test_stable_old_features_are_not_flagged() -> None:
    expr = 'sum by (a) (rate(x[5m] offset -1m @ start())) > bool clamp(y, 0, 1)'
    assert _features(expr) == []


@pytest.mark.parametrize(
    ("expr", "present", "absent"),
    [
        ("sum by (service) (rate(x[5m])) > 1", {"service"}, {"instance"}),
        ("sum without (instance) (x) > 1", {"service", "job"}, {"instance"}),
        ("sum(x) > 1", set(), {"service"}),
        ('absent(x{job="crm", env=~"p.*"})', {"job"}, {"env"}),
        ("histogram_quantile(0.9, sum by (le, route) (rate(h[5m])))", {"route"}, {"le"}),
        ('label_replace(sum(x), "dst", "$1", "src", "(.*)")', {"dst"}, {"src"}),
        ('count_values("version", build_info) by (job)', {"version", "job"}, {"instance"}),
        ("topk(3, sum by (route) (x))", {"route"}, {"job"}),
        ("x / on(service) y", {"service"}, {"job"}),
        ("x / ignoring(job) y", {"service"}, {"job"}),
        ("sum by (a) (x) * on(a) group_left(team) y", {"a", "team"}, {"b"}),
        ("x * on(a) group_right(b) sum by (a, c) (y)", {"a", "b", "c"}, {"d"}),
        ("sum by (a, b) (x) or sum by (a) (y)", {"a"}, {"b"}),
        ("sum by (a) (x) or y", {"a"}, {"b"}),
        ("x or sum by (a) (y)", {"a"}, {"b"}),
        ("sum by (a) (x) and y", {"a"}, {"b"}),
        ("1 + sum by (a) (x)", {"a"}, {"b"}),
        ("vector(1) + sum by (a) (x)", set(), {"a"}),
        ("2 * time()", set(), {"a"}),
        ("-sum by (a) (x)", {"a"}, {"b"}),
    ],
)
def test_result_labels(expr: str, present: set[str], absent: set[str]) -> None:
    labels = analyze(expr).labels
    assert all(labels.has(x) for x in present), labels
    assert not any(labels.has(x) for x in absent), labels


def test_labelset_common_of_two_open_sets() -> None:
    merged = LabelSet(None, frozenset({"a"})).common(LabelSet(None, frozenset({"b"})))
    assert not merged.has("a") and not merged.has("b") and merged.has("c")


@pytest.mark.parametrize(
    ("expr", "flagged"),
    [
        ("sum(rate(a[5m])) / sum(rate(b[5m]))", True),
        ("sum(increase(a[1h])) / sum(increase(b[1h]))", True),
        ("a / (rate(b[5m]) + rate(c[5m]))", True),
        ("a / (rate(b[5m]) - 1)", True),
        ("a / (rate(b[5m]) * 2)", True),
        ("a / (rate(b[5m]) > bool 0)", True),
        ("a / (rate(b[5m]) >= 0)", True),
        ("a / abs(rate(b[5m]))", True),
        ("a / job:requests:rate5m", True),
        ("a / 0", True),
        ("a / clamp_min(rate(b[5m]), 0)", True),
        ("a / (rate(b[5m]) and c)", True),
        ("a / (rate(b[5m]) / 2)", True),
        ("a / (rate(b[5m]) > 0)", False),
        ("a / (rate(b[5m]) != 0)", False),
        ("a / (rate(b[5m]) >= 1)", False),
        ("a / (rate(b[5m]) < 0)", False),
        ("a / (rate(b[5m]) <= -1)", False),
        ("a / (rate(b[5m]) == 1)", False),
        ("a / (rate(b[5m]) > c)", True),
        ("a / clamp_min(sum(rate(b[5m])), 1e-9)", False),
        ("a / clamp(rate(b[5m]), 1, 10)", False),
        ("a / (rate(b[5m]) or vector(1))", False),
        ("a / (rate(b[5m]) + 1)", False),
        ("a / count(b)", False),
        ("a / b", False),
        ("a / job:requests:ratio", False),
        ("a / 2", False),
        ("a / sum(rate(b[5m:1m]))", True),
    ],
)
def test_division_guards(expr: str, flagged: bool) -> None:
    assert bool(analyze(expr).unguarded_divisions) is flagged


@pytest.mark.parametrize(
    ("expr", "filters"),
    [
        ("x > 1", True),
        ("(x > 1)", True),
        ("x > bool 1", False),
        ("x", False),
        ("sum(rate(x[5m]))", False),
        ("absent(up)", True),
        ("absent_over_time(up[5m])", True),
        ("x > 1 and y", True),
        ("x and y > 1", True),
        ("x unless y > 1", False),
        ("max(x > 1) without (a)", True),
        ("rate(x[5m]) / (rate(y[5m]) > 0)", False),
        ('label_replace(x > 1, "a", "b", "c", "d")', True),
    ],
)
def test_filter_detection(expr: str, filters: bool) -> None:
    assert analyze(expr).has_comparison is filters


def test_selectors_record_their_range_function() -> None:
    selectors = analyze('rate(a[5m]) + b + {__name__="c"} + {__name__=~"d.*"}').selectors
    assert [(s.name, s.function) for s in selectors] == [("a", "rate"), ("b", None), ("c", None)]


@pytest.mark.parametrize(("text", "version"), [("2.42", (2, 42)), ("v3.1.0", (3, 1))])
def test_parse_version(text: str, version: tuple[int, int]) -> None:
    assert parse_version(text) == version


def test_parse_version_rejects_junk() -> None:
    with pytest.raises(ValueError, match="not a Prometheus version"):
        parse_version("latest")


def test_name_validity() -> None:
    assert valid_metric_name("job:x:rate5m") and not valid_metric_name("a-b")
    assert valid_label_name("service") and not valid_label_name("__name__")
    assert not valid_label_name("owning-team")
