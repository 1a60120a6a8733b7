"""Arbitrary YAML gives findings or a LoadError (exit 2), never a traceback.

A small number of examples in the normal run; ``CRM_OBS_FUZZ_EXAMPLES=10000``
scales it up.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_observability.cli import main
from crm_observability.lint import LintConfig, LoadError, catalog_from_mapping, lint_documents
from crm_observability.lint.loader import classify, parse_text

EXAMPLES = int(os.environ.get("CRM_OBS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Keys and values that reach deep into every document kind.
KEYS = st.sampled_from([
    "groups", "name", "rules", "record", "alert", "expr", "for", "keep_firing_for", "labels",
    "annotations", "severity", "summary", "description", "runbook_url", "interval", "kind",
    "spec", "panels", "targets", "title", "schemaVersion", "type", "datasource", "uid",
    "fieldConfig", "defaults", "unit", "dashboard", "id", "refId", "route", "receivers",
    "rule_files", "tests", "gridPos", "$labels.x",
])
FRAGMENTS = st.sampled_from([
    "PrometheusRule", "up", "sum(rate(x[5m])) / sum(rate(y[5m]))", "x > 1", "sum(", "5m",
    "1 hour", "page", "{{ $labels.service }}", "{{ $value }}", "a:b:c", "row", "timeseries",
    "rate(x[$__rate_interval])", "limitk(1, x)", "${datasource}", "-- Mixed --", "",
    "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", "absent(up)",
])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                    FRAGMENTS, st.text(max_size=12))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(KEYS, inner, max_size=6)),
    max_leaves=30,
)
CONFIG = LintConfig(catalog=catalog_from_mapping({"metrics": {"x": "gauge"}}, "fuzz"))


def _lint_text(text: str) -> None:
    try:
        loaded = parse_text(text, "fuzz.yml")
    except LoadError as exc:
        assert str(exc).startswith("fuzz.yml: ")
        return
    docs = [d for d in (classify(data, "fuzz.yml") for data in loaded) if d is not None]
    for finding in lint_documents(docs, CONFIG):
        assert finding.file == "fuzz.yml" and finding.line >= 1 and finding.message


@FUZZ
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_structured_yaml_never_crashes(data: dict[str, Any]) -> None:
    _lint_text(yaml.safe_dump(data))


@FUZZ
@given(VALUES)
def test_structured_json_never_crashes(data: Any) -> None:
    _lint_text(yaml.safe_dump({"dashboard": {"title": "t", "panels": [data]}}))
    _lint_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [data]}]}))


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}\"'\n #&*!|>%@`,?=$.0")), max_size=60))
def test_raw_text_never_crashes(text: str) -> None:
    _lint_text(text)


def test_cli_on_fuzzed_file_exits_cleanly(tmp_path: Any) -> None:
    path = tmp_path / "f.yml"
    path.write_text("groups: [{name: g, rules: [{alert: A, expr: {a: 1}, labels: 3}]}]\n")
    assert main(["lint", str(path)]) == 1
