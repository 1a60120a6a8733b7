"""What the linter reports: a :class:`Finding` and the catalogue of rule ids."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from crm_observability.oneline import one_line


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem at ``file:line``; ordered by file, then line, then rule id."""

    file: str
    line: int
    rule_id: str
    message: str
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        # Messages quote the linted file's own keys: one finding, one line.
        object.__setattr__(self, "message", one_line(self.message))


# rule id -> one-line summary (docs/lint.md has the why and an example for each).
RULES: dict[str, str] = {
    "promql-syntax": "every expression and dashboard query parses as PromQL",
    "promql-version": "no PromQL feature newer than the targeted Prometheus version",
    "promql-experimental": "no experimental PromQL function or aggregation",
    "rule-structure": "rule files have the shape Prometheus loads (groups, rules, fields)",
    "group-duplicate": "group names are unique across all linted files",
    "rule-duplicate": "no two rules with the same name and the same static labels",
    "name-invalid": "metric, label, alert and annotation names are valid",
    "duration-invalid": "for, keep_firing_for and interval are Prometheus durations",
    "recording-rule-naming": "recording rules are named level:metric:operations",
    "rule-missing-dependency": "every recording rule a rule or dashboard uses is defined",
    "alert-severity-label": "every alert has a severity label with a known value",
    "alert-annotations": "every alert has summary, description and runbook_url",
    "alert-for": "every alert has a for within the bounds of its severity",
    "alert-comparison": "an alert expression compares (or uses absent)",
    "alert-label-aggregated": "$labels.x is used only where x survives the aggregation",
    "alert-value-in-labels": "no $value in alert labels",
    "division-unguarded": "no division that becomes NaN at zero traffic without a guard",
    "rate-on-non-counter": "rate, irate and increase are applied to counters only",
    "metric-unknown": "every queried metric exists in the metric catalog",
    "dashboard-schema": "dashboards decode with the Grafana SDK's dashboard model",
    "dashboard-datasource": "every dashboard target (or its panel) names a datasource",
    "dashboard-query": "every dashboard target has a query",
    "dashboard-unit": "every data panel sets a unit",
    "promtool": "promtool check rules --lint=all --lint-fatal passes (--promtool)",
    "promtool-test": "promtool test rules suites pass (--promtool)",
    "amtool": "amtool check-config passes on Alertmanager configs (--promtool)",
}
