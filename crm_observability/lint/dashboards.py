"""Grafana dashboards: schema, datasources, queries and units on every panel."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

from crm_observability.lint.findings import Finding
from crm_observability.lint.loader import Document, LocDict, LocList
from crm_observability.lint.metrics import Query
from crm_observability.lint.promql import PLACEHOLDER

# Panels that show no query result, so need no unit or datasource.
NON_DATA_PANELS = frozenset({"row", "text", "news", "dashlist", "alertlist", "annolist",
                             "welcome", "gettingstarted", "nodeGraph", "logs", "traces"})
# Grafana's interval variables, replaced by a duration before parsing.
_DURATION_VARS = frozenset({"__rate_interval", "__interval", "__range", "__auto"})
_NUMBER_VARS = frozenset({"__range_s", "__range_ms", "__interval_ms"})
_TOKENS = re.compile(
    r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'  # string literals
    r"|\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]"  # ${var}, $var, [[var]]
)
_VAR_IN_STRING = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\]")


def substitute_variables(expr: str) -> str:
    """Replace Grafana variables with values that keep the query parseable."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name is None:  # a string literal: variables inside become plain text
            return _VAR_IN_STRING.sub("x", match.group(0))
        if name in _DURATION_VARS:
            return "5m"
        if name in _NUMBER_VARS:
            return "300"
        before = expr[: match.start()].rstrip()
        if before.endswith(("[", ":")) and "]" in expr[match.end():]:
            return "5m"  # a custom interval variable inside [ ]
        return PLACEHOLDER

    return _TOKENS.sub(replace, expr)


def _sdk_error(data: dict[str, Any]) -> str | None:
    """Decode with grafana-foundation-sdk's model; its error, or None if it decodes."""
    try:
        with warnings.catch_warnings():
            # the SDK warns at import that v2 dashboards exist; v1 JSON is what we lint
            warnings.simplefilter("ignore", DeprecationWarning)
            from grafana_foundation_sdk.models.dashboard import Dashboard

            Dashboard.from_json(data)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return f"does not decode as a Grafana dashboard: {type(exc).__name__}: {detail}"
    return None


def _schema(doc: Document) -> Iterator[Finding]:
    data = doc.data
    if not isinstance(data.get("title"), str) or not data.get("title"):
        yield Finding(doc.path, doc.line, "dashboard-schema", "field 'title': missing")
    if not isinstance(data.get("schemaVersion"), int) or isinstance(data["schemaVersion"], bool):
        yield Finding(doc.path, doc.line, "dashboard-schema",
                      "field 'schemaVersion': missing or not an integer")
    panels = data.get("panels")
    if not isinstance(panels, list) or not all(isinstance(p, dict) for p in panels):
        yield Finding(doc.path, doc.line, "dashboard-schema",
                      "field 'panels': want a list of panel objects")
        return
    error = _sdk_error(data)
    if error is not None:
        yield Finding(doc.path, doc.line, "dashboard-schema", error)


def iter_panels(panels: Any) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in panels if isinstance(panels, list) else ():
        if isinstance(panel, dict):
            yield panel
            yield from iter_panels(panel.get("panels"))


def check_dashboard(doc: Document) -> tuple[list[Finding], list[Query]]:
    """Dashboard findings, and the queries of its targets for the PromQL checks."""
    findings = list(_schema(doc))
    queries: list[Query] = []
    ids: dict[Any, str] = {}
    for panel in iter_panels(doc.data.get("panels")):
        line = getattr(panel, "line", doc.line)
        ptype = panel.get("type")
        title = panel.get("title") or f"id {panel.get('id')}"
        where = f"panel {title!r}"
        if not isinstance(ptype, str):
            findings.append(Finding(doc.path, line, "dashboard-schema", f"{where}: no 'type'"))
            continue
        pid = panel.get("id")
        if pid is not None and isinstance(pid, int) and pid in ids:
            findings.append(Finding(doc.path, line, "dashboard-schema",
                                    f"{where}: id {pid} already used by panel {ids[pid]!r}"))
        ids.setdefault(pid, str(title))
        if ptype in NON_DATA_PANELS:
            continue
        findings.extend(_check_unit(doc, panel, line, where))
        targets = panel.get("targets")
        for index, target in enumerate(targets if isinstance(targets, list) else ()):
            tline = targets.line_of(index) if isinstance(targets, LocList) else line
            found, query = _check_target(doc, panel, target, tline, where, index)
            findings.extend(found)
            if query is not None:
                queries.append(query)
    return findings, queries


def _check_unit(doc: Document, panel: dict[str, Any], line: int, where: str) -> Iterator[Finding]:
    config = panel.get("fieldConfig")
    defaults = config.get("defaults") if isinstance(config, dict) else None
    unit = defaults.get("unit") if isinstance(defaults, dict) else None
    if not isinstance(unit, str) or not unit:
        yield Finding(doc.path, line, "dashboard-unit",
                      f"{where}: no unit (fieldConfig.defaults.unit)")


def _datasource_set(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value) and value != "-- Mixed --"
    if isinstance(value, dict):
        uid = value.get("uid")
        return isinstance(uid, str) and bool(uid) and uid != "-- Mixed --"
    return False


def _check_target(
    doc: Document, panel: dict[str, Any], target: Any, line: int, where: str, index: int
) -> tuple[list[Finding], Query | None]:
    if not isinstance(target, dict):
        return [Finding(doc.path, line, "dashboard-schema",
                        f"{where}: target {index + 1} is not an object")], None
    ref = target.get("refId") or str(index + 1)
    where = f"{where} target {ref}"
    findings: list[Finding] = []
    if not (_datasource_set(target.get("datasource")) or _datasource_set(panel.get("datasource"))):
        findings.append(Finding(doc.path, line, "dashboard-datasource",
                                f"{where}: no datasource on the target or its panel"))
    expr = target.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        findings.append(Finding(doc.path, line, "dashboard-query", f"{where}: no 'expr'"))
        return findings, None
    expr_line = target.line_of("expr") if isinstance(target, LocDict) else line
    return findings, Query(doc.path, expr_line, substitute_variables(expr), where)
