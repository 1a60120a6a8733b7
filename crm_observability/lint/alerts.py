"""Alerting-rule checks: labels, annotations, `for` bounds, comparison, templates."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from crm_observability.conventions import LABEL_SEVERITY
from crm_observability.lint.findings import Finding
from crm_observability.lint.promql import analyze
from crm_observability.lint.rules import Rule, parse_duration

REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
# severity -> longest acceptable `for` in seconds: a page that waits longer than
# 15 minutes has burnt the budget it was meant to protect.
DEFAULT_FOR_BOUNDS: Mapping[str, float] = {
    "critical": 15 * 60,
    "page": 15 * 60,
    "warning": 60 * 60,
    "ticket": 6 * 60 * 60,
    "info": 24 * 60 * 60,
}
_LABEL_REFS = re.compile(
    r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)"
    r"|index\s+(?:\$labels|\.Labels)\s+\"([^\"]+)\""
)
_VALUE_REF = re.compile(r"\$value\b|\.Value\b")


def label_refs(template: str) -> list[str]:
    """Label names a Go template reads: ``$labels.x``, ``.Labels.x``, ``index $labels "x"``."""
    return [next(g for g in match.groups() if g) for match in _LABEL_REFS.finditer(template)]


def check_alert(rule: Rule, bounds: Mapping[str, float] = DEFAULT_FOR_BOUNDS) -> Iterator[Finding]:
    """Findings for one alerting rule (``rule.kind == "alert"``)."""
    where = f"alert {rule.name!r}"

    def at(key: str) -> int:
        return rule.lines.get(key, rule.line)

    severity = rule.labels.get(LABEL_SEVERITY)
    if severity is None:
        yield Finding(rule.file, rule.line, "alert-severity-label",
                      f"{where}: missing label '{LABEL_SEVERITY}'")
    elif severity not in bounds:
        yield Finding(rule.file, at(f"labels.{LABEL_SEVERITY}"), "alert-severity-label",
                      f"{where}: severity {severity!r} is not one of "
                      f"{', '.join(sorted(bounds))}")
    missing = [name for name in REQUIRED_ANNOTATIONS if not rule.annotations.get(name)]
    if missing:
        yield Finding(rule.file, rule.line, "alert-annotations",
                      f"{where}: missing annotation(s) {', '.join(missing)}")
    yield from _check_for(rule, where, severity, bounds)
    for key, value in rule.labels.items():
        if _VALUE_REF.search(value):
            yield Finding(rule.file, at(f"labels.{key}"), "alert-value-in-labels",
                          f"{where}: label {key!r} uses $value, so every evaluation "
                          "makes a new alert")
    analysis = analyze(rule.expr)
    if analysis.error is not None:
        return  # promql-syntax is reported by the query checks
    if not analysis.has_comparison:
        yield Finding(rule.file, rule.expr_line, "alert-comparison",
                      f"{where}: expr has no comparison (or absent()); it fires on any value")
    for part, values in (("annotations", rule.annotations), ("labels", rule.labels)):
        for key, template in values.items():
            for label in dict.fromkeys(label_refs(template)):
                if not analysis.labels.has(label):
                    yield Finding(rule.file, at(f"{part}.{key}"), "alert-label-aggregated",
                                  f"{where}: {part[:-1]} {key!r} uses $labels.{label} but the "
                                  f"expr's result has no label {label!r}")


def _check_for(
    rule: Rule, where: str, severity: str | None, bounds: Mapping[str, float]
) -> Iterator[Finding]:
    if rule.duration is None:
        yield Finding(rule.file, rule.line, "alert-for",
                      f"{where}: no 'for'; one bad evaluation would fire it")
        return
    seconds = parse_duration(rule.duration)
    limit = bounds.get(severity or "")
    if seconds is not None and limit is not None and seconds > limit:
        yield Finding(rule.file, rule.duration_line, "alert-for",
                      f"{where}: for {rule.duration} is longer than {_fmt(limit)} "
                      f"allowed for severity {severity!r}")


def _fmt(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
