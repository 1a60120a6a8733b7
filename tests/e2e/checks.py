"""Turning dashboards and rule files into plain PromQL, and asking Prometheus about it.

Each ``check_*`` returns one line per failure (never raises on the first), so a
test can report every broken panel or rule at once.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import yaml

from crm_observability import conventions as names
from crm_observability.generators.dashboards import build_dashboard, dashboard_specs, panel_queries
from crm_observability.generators.dashboards.queries import VAR_ENVIRONMENT, VAR_SERVICE
from crm_observability.slo.model import SLOSpec

from .stack import ENVIRONMENT, SERVICES, rule_files, service_name

SERVICE_NAMES = tuple(service_name(s) for s in SERVICES)
ALL_SERVICES = ".*"  # the "All" value of the multi-service dashboards' $service
# Grafana's $__rate_interval is max(4 x scrape interval, $__interval): at a 1 s scrape
# 15 s holds ~15 samples, and data shows up within seconds (1m would need a minute).
SUBSTITUTIONS = {
    "$__rate_interval": "15s",
    "$__interval": "5s",
    "$__range": "5m",  # a short picked range; the test's whole history fits in it
    f"${VAR_ENVIRONMENT}": ENVIRONMENT,
}
_VARIABLE = re.compile(r"\$\{?[A-Za-z_]\w*\}?|\[\[\w+\]\]")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    service: str  # the $service value used
    expr: str  # plain PromQL

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.dashboard, self.panel, self.service)

    def describe(self, reason: str) -> str:
        return f"{self.dashboard} / {self.panel} [service={self.service}]: {reason}\n  {self.expr}"


def substitute(expr: str, service: str) -> str:
    """Plain PromQL; fails on a Grafana variable the test does not know."""
    for var, value in sorted({**SUBSTITUTIONS, f"${VAR_SERVICE}": service}.items(),
                             key=lambda kv: -len(kv[0])):
        expr = expr.replace("${" + var[1:] + "}", value).replace(var, value)
    leftover = _VARIABLE.findall(expr)
    assert not leftover, f"unknown Grafana variable {leftover} in {expr}"
    return expr


def _boards(specs: list[SLOSpec]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Each dashboard's JSON with its $service values: every service on single-service ones."""
    for spec in dashboard_specs(specs):
        values = [ALL_SERVICES] if spec.multi_service else list(SERVICE_NAMES)
        yield build_dashboard(spec), values


def panel_cases(specs: list[SLOSpec]) -> list[PanelQuery]:
    """Every panel query of every dashboard, once per $service value."""
    return [PanelQuery(dashboard, panel, v, substitute(expr, v))
            for board, values in _boards(specs)
            for dashboard, panel, expr in panel_queries(board) for v in values]


def exemplar_cases(specs: list[SLOSpec]) -> list[PanelQuery]:
    """The targets that ask Grafana for exemplars (latency: dots that open the trace)."""
    return [PanelQuery(board["title"], nested["title"], v, substitute(target["expr"], v))
            for board, values in _boards(specs) for panel in board["panels"]
            for nested in [panel, *panel.get("panels", [])]
            for target in nested.get("targets", []) if target.get("exemplar")
            for v in values]


def variable_queries(specs: list[SLOSpec]) -> list[tuple[str, str, str, str]]:
    """``(dashboard, variable, label, series selector)`` of every ``label_values()`` variable."""
    out = []
    for board, _ in _boards(specs):
        for variable in board["templating"]["list"]:
            match = re.fullmatch(r"label_values\((.+), *(\w+)\)", str(variable.get("query", "")))
            if match is not None:
                selector = substitute(match.group(1), ALL_SERVICES)
                out.append((board["title"], variable["name"], match.group(2), selector))
    return out


def query(client: httpx.Client, base: str, expr: str) -> tuple[list[dict[str, Any]], str]:
    """``(result, error)`` of an instant query; error is "" on success without warnings."""
    try:
        body = client.get(f"{base}/api/v1/query", params={"query": expr}).json()
    except (httpx.HTTPError, ValueError) as exc:
        return [], f"request failed: {exc!r}"
    if body.get("status") != "success":
        return [], f"{body.get('errorType')}: {body.get('error')}"
    if body.get("warnings"):
        return [], f"warnings: {body['warnings']}"
    data = body["data"]
    if data["resultType"] == "scalar":
        return [{"metric": {}, "value": data["result"]}], ""
    return list(data["result"]), ""


def has_number(result: Iterable[dict[str, Any]]) -> bool:
    """At least one sample that is a number (histogram_quantile over no events gives NaN)."""
    return any(not math.isnan(float(r["value"][1])) for r in result)


def check_panels(client: httpx.Client, base: str, cases: list[PanelQuery],
                 allowed: Mapping[tuple[str, str, str], str]) -> list[str]:
    """Errors, panels without data, and allow-listed panels that do have data (stale entries)."""
    failures = []
    for case in cases:
        result, error = query(client, base, case.expr)
        reason = allowed.get(case.key)
        if error:
            failures.append(case.describe(error))
        elif not has_number(result) and reason is None:
            failures.append(case.describe("no data" if not result else f"only NaN: {result}"))
        elif has_number(result) and reason is not None:
            failures.append(case.describe(f"returns data but is allow-listed ({reason}): "
                                          "remove its NO_DATA_ALLOWED entry"))
    return failures


def check_exemplars(client: httpx.Client, base: str, cases: list[PanelQuery],
                    window_s: float = 300.0) -> list[str]:
    """Targets whose query finds no exemplar carrying a trace id in the last ``window_s``."""
    failures = []
    now = time.time()
    for case in cases:
        body = client.get(f"{base}/api/v1/query_exemplars",
                          params={"query": case.expr, "start": now - window_s, "end": now}).json()
        if body.get("status") != "success":
            failures.append(case.describe(f"{body.get('errorType')}: {body.get('error')}"))
            continue
        ids = [e["labels"].get(names.EXEMPLAR_TRACE_ID, "")
               for series in body["data"] for e in series["exemplars"]]
        if not any(_TRACE_ID.fullmatch(i) for i in ids):
            failures.append(case.describe(f"no exemplar with a trace id (got {ids[:3]})"))
    return failures


def rule_file_rules() -> list[tuple[str, str, str]]:
    """``(file, rule name, expr)`` of every alerting and recording rule in the loaded files."""
    return [(path.name, rule.get("alert") or rule["record"], rule["expr"])
            for path in rule_files()
            for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def loaded_rules(client: httpx.Client, base: str) -> list[dict[str, Any]]:
    """Every rule Prometheus' rule manager holds, with its group's name."""
    body = client.get(f"{base}/api/v1/rules").json()
    assert body["status"] == "success", body
    return [{**rule, "group": group["name"]}
            for group in body["data"]["groups"] for rule in group["rules"]]


def epoch(rfc3339: str) -> float:
    """Seconds since the epoch of a Prometheus RFC 3339 timestamp (nanoseconds, ``Z``)."""
    head, _, frac = rfc3339.rstrip("Z").partition(".")
    whole = datetime.fromisoformat(head + "+00:00").timestamp()
    return whole + (float("0." + frac[:6]) if frac else 0.0)


def poll(check: Callable[[], list[str]], timeout_s: float) -> list[str]:
    """Run ``check()`` until it reports no failures or time is up; the last failures."""
    deadline = time.monotonic() + timeout_s
    while True:
        failures = check()
        if not failures or time.monotonic() > deadline:
            return failures
        time.sleep(1.0)
