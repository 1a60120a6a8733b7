"""Rule files: read groups and rules from the loaded YAML, check their shape and names.

Works on any tool's output (Sloth, Pyrra, hand-written, prometheus-operator's
``PrometheusRule``): only the file format is assumed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_observability.lint.findings import Finding
from crm_observability.lint.loader import Document
from crm_observability.lint.promql import valid_label_name, valid_metric_name

_DURATION = re.compile(r"^(?:0|(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?)$")
_DURATION_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60,
                   "s": 1, "ms": 0.001}
_RECORDING_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$")
_ALERT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_GROUP_KEYS = frozenset(
    {"name", "interval", "rules", "limit", "query_offset", "labels",
     "partial_response_strategy", "source_tenants"}
)
_RULE_KEYS = frozenset({"record", "alert", "expr", "for", "keep_firing_for", "labels",
                        "annotations"})


@dataclass(frozen=True, slots=True)
class Rule:
    """One recording or alerting rule with the line of each part."""

    file: str
    group: str
    line: int
    kind: str  # "record" | "alert"
    name: str
    expr: str
    expr_line: int
    duration: str | None = None  # the alert's `for`
    duration_line: int = 0
    keep_firing_for: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    lines: Mapping[str, int] = field(default_factory=dict)  # "labels.x" -> line


@dataclass(frozen=True, slots=True)
class Group:
    file: str
    name: str
    line: int
    interval: str | None
    rules: tuple[Rule, ...]
    # From a PrometheusRule resource: the operator loads those, Prometheus the plain
    # files, so each is its own namespace for uniqueness (a generator may emit both).
    resource: bool = False


def parse_duration(text: str) -> float | None:
    """Seconds of a Prometheus duration (``1h30m``), or None if it is not one."""
    if not isinstance(text, str) or not text or not _DURATION.match(text):
        return None
    return sum(
        int(num) * _DURATION_UNITS[unit] for num, unit in re.findall(r"(\d+)(ms|[ywdhms])", text)
    )


def _line(node: Any, key: Any, default: int) -> int:
    line_of = getattr(node, "line_of", None)
    return int(line_of(key)) if line_of is not None else default


def _scalar(value: Any) -> str | None:
    """YAML scalars Prometheus would read as a string (it reads `1` as "1")."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def read_groups(doc: Document) -> tuple[list[Group], list[Finding]]:
    """Groups of one rule document, and findings for every part of the wrong shape."""
    problems: list[Finding] = []

    def bad(line: int, message: str) -> None:
        problems.append(Finding(doc.path, line, "rule-structure", message))

    raw = doc.data.get("groups") if isinstance(doc.data, dict) else None
    where = "spec.groups" if doc.wrapped else "groups"
    if not isinstance(raw, list):
        bad(doc.line, f"field '{where}': want a list of rule groups")
        return [], problems
    groups: list[Group] = []
    for index, item in enumerate(raw):
        line = _line(raw, index, doc.line)
        if not isinstance(item, dict):
            bad(line, f"field '{where}[{index}]': want a mapping with name and rules")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name:
            bad(line, f"field '{where}[{index}].name': missing or not a string")
            name = f"#{index}"
        for key in item:
            if key not in _GROUP_KEYS:
                bad(_line(item, key, line), f"group {name!r}: unknown field {key!r}")
        rules_raw = item.get("rules")
        if not isinstance(rules_raw, list):
            bad(line, f"group {name!r}: field 'rules': want a list")
            rules_raw = []
        rules = [_read_rule(doc.path, name, rules_raw, i, bad) for i in range(len(rules_raw))]
        interval = item.get("interval")
        groups.append(Group(doc.path, name, line, _scalar(interval) if interval is not None
                            else None, tuple(r for r in rules if r is not None), doc.wrapped))
    return groups, problems


def _read_rule(path: str, group: str, rules: Any, index: int, bad: Any) -> Rule | None:
    item = rules[index]
    line = _line(rules, index, 1)
    where = f"group {group!r} rule {index + 1}"
    if not isinstance(item, dict):
        bad(line, f"{where}: want a mapping with record or alert, and expr")
        return None
    for key in item:
        if key not in _RULE_KEYS:
            bad(_line(item, key, line), f"{where}: unknown field {key!r}")
    has_record, has_alert = "record" in item, "alert" in item
    if has_record == has_alert:
        bad(line, f"{where}: want exactly one of 'record' and 'alert'")
        return None
    kind = "record" if has_record else "alert"
    name = _scalar(item[kind])
    expr = _scalar(item.get("expr"))
    if not name or expr is None:
        missing = kind if not name else "expr"
        bad(line, f"{where}: field '{missing}': missing or not a string")
        return None
    lines: dict[str, int] = {"name": _line(item, kind, line)}
    maps: dict[str, dict[str, str]] = {}
    for part in ("labels", "annotations"):
        raw = item.get(part) or {}
        maps[part] = {}
        if not isinstance(raw, dict):
            bad(_line(item, part, line), f"{where}: field '{part}': want a mapping")
            continue
        for key, value in raw.items():
            text = _scalar(value)
            if not isinstance(key, str) or text is None:
                bad(_line(raw, key, line), f"{where}: field '{part}.{key}': want a string")
                continue
            maps[part][key] = text
            lines[f"{part}.{key}"] = _line(raw, key, line)
    if kind == "record" and ("for" in item or maps["annotations"]):
        bad(line, f"{where}: a recording rule takes no 'for' or 'annotations'")
    duration = _scalar(item.get("for")) if item.get("for") is not None else None
    keep = item.get("keep_firing_for")
    return Rule(
        path, group, line, kind, name, expr, _line(item, "expr", line),
        duration, _line(item, "for", line), _scalar(keep) if keep is not None else None,
        maps["labels"], maps["annotations"], lines,
    )


def check_groups(groups: Sequence[Group]) -> list[Finding]:
    """Names, durations and uniqueness across every linted rule file."""
    out: list[Finding] = []
    seen_groups: dict[tuple[bool, str], Group] = {}
    seen_rules: dict[tuple[bool, str, str, tuple[tuple[str, str], ...]], Rule] = {}
    for group in groups:
        first = seen_groups.setdefault((group.resource, group.name), group)
        if first is not group:
            out.append(Finding(group.file, group.line, "group-duplicate",
                               f"group {group.name!r} already defined at "
                               f"{first.file}:{first.line}"))
        if group.interval is not None and parse_duration(group.interval) is None:
            out.append(Finding(group.file, group.line, "duration-invalid",
                               f"group {group.name!r}: interval {group.interval!r} is not a "
                               "duration like 30s or 1m"))
        for rule in group.rules:
            key = (group.resource, rule.kind, rule.name, tuple(sorted(rule.labels.items())))
            prior = seen_rules.setdefault(key, rule)
            if prior is not rule:
                out.append(Finding(rule.file, rule.line, "rule-duplicate",
                                   f"{rule.kind} {rule.name!r} with the same labels already "
                                   f"defined at {prior.file}:{prior.line}"))
            out.extend(_check_rule(rule))
    return out


def _check_rule(rule: Rule) -> Iterable[Finding]:
    name_line = rule.lines.get("name", rule.line)
    if rule.kind == "record":
        if not valid_metric_name(rule.name):
            yield Finding(rule.file, name_line, "name-invalid",
                          f"record {rule.name!r} is not a valid metric name")
        # info series (`x_info`, value 1, metadata in labels) are no aggregation: exempt
        elif not _RECORDING_NAME.match(rule.name) and not rule.name.endswith("_info"):
            yield Finding(rule.file, name_line, "recording-rule-naming",
                          f"record {rule.name!r} is not named level:metric:operations")
    elif not _ALERT_NAME.match(rule.name):
        yield Finding(rule.file, name_line, "name-invalid",
                      f"alert {rule.name!r}: want letters, digits and underscores")
    for part, values in (("labels", rule.labels), ("annotations", rule.annotations)):
        for key in values:
            if not valid_label_name(key):
                yield Finding(rule.file, rule.lines.get(f"{part}.{key}", rule.line),
                              "name-invalid", f"{rule.kind} {rule.name!r}: {part[:-1]} name "
                              f"{key!r} is not a valid label name")
    for field_name, value in (("for", rule.duration), ("keep_firing_for", rule.keep_firing_for)):
        if value is not None and parse_duration(value) is None:
            line = rule.duration_line if field_name == "for" else rule.line
            yield Finding(rule.file, line, "duration-invalid",
                          f"{rule.kind} {rule.name!r}: {field_name} {value!r} is not a "
                          "duration like 5m")
