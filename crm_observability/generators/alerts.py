"""The platform alerts of the design document, written against the metrics we export.

The document's alerts query ``http_requests_total`` and ``hikaricp_*``, which
nothing here exports; these query the names in :mod:`crm_observability.conventions`.
Thresholds are parameters (:class:`AlertConfig`) whose defaults are the
document's values.  Builders are pure: config in, frozen :class:`AlertRule` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.render import exact_number, render_yaml

DEFAULT_RUNBOOK_BASE = (
    "https://github.com/crm-platform/crm-observability/blob/main/docs/dashboards-and-alerts.md"
)
_DURATION = re.compile(r"^[1-9][0-9]*[smhd]$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_-]+$")  # safe inside a PromQL regex matcher
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Labels a per-service aggregation keeps (so ``$labels.service`` is usable).
BY_SERVICE = (names.LABEL_APPLICATION, names.LABEL_SERVICE, names.LABEL_ENVIRONMENT)
BY_INSTANCE = (*BY_SERVICE, names.LABEL_INSTANCE)
BY_TARGET = (names.LABEL_JOB, names.LABEL_INSTANCE)
BY_PLATFORM = (names.LABEL_APPLICATION, names.LABEL_ENVIRONMENT)
_REQUESTS = f"{names.HTTP_SERVER_DURATION}_count"
_BUCKETS = f"{names.HTTP_SERVER_DURATION}_bucket"


class AlertConfigError(ValueError):
    """An alert parameter cannot be used; the message names the field and the reason."""


def duration_seconds(text: str) -> int:
    """Seconds in a one-unit Prometheus duration such as ``5m`` (raises ValueError)."""
    if not _DURATION.match(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 1d")
    return int(text[:-1]) * _UNIT_SECONDS[text[-1]]


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Thresholds and routing for the platform alerts (defaults: the design document)."""

    error_ratio: float = 0.1  # HighErrorRate: share of 5xx responses
    error_window: str = "5m"
    # Ratio alerts ignore series whose request rate is not above this (no NaN, no 1-in-2 pages).
    ratio_min_rps: float = 0.0
    response_time_p95_s: float = 2.0
    latency_window: str = "5m"
    memory_ratio: float = 0.8
    db_pool_ratio: float = 0.9
    sla_error_ratio: float = 0.001  # SLA "error_rate < 0.1%" over "1h"
    sla_error_window: str = "1h"
    throughput_floor_rps: float = 1000.0  # SLA "throughput.min_rps"
    throughput_window: str = "5m"
    # The floor only applies where traffic is expected: an idle dev stack must not page.
    throughput_environments: tuple[str, ...] = ("production",)
    team: str | None = None
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE
    http_buckets: tuple[float, ...] = names.HTTP_DURATION_BUCKETS

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_window"):
                try:
                    duration_seconds(value)
                except ValueError as exc:
                    raise AlertConfigError(f"{f.name}: {exc}") from None
            elif f.name.endswith("_ratio") and not 0.0 < value < 1.0:
                # a threshold of 1 (100%) could never be exceeded
                raise AlertConfigError(f"{f.name}: {value} is not a ratio in (0, 1)")
        if self.ratio_min_rps < 0:
            raise AlertConfigError(f"ratio_min_rps: {self.ratio_min_rps} must be >= 0")
        if self.throughput_floor_rps <= 0:
            raise AlertConfigError(
                f"throughput_floor_rps: {self.throughput_floor_rps} must be > 0")
        if not self.throughput_environments or not all(
            _LABEL_VALUE.match(e) for e in self.throughput_environments
        ):
            raise AlertConfigError(
                "throughput_environments: name at least one environment, "
                "each of letters, digits, '_' and '-'"
            )
        buckets = sorted(self.http_buckets)
        if not buckets or not buckets[0] < self.response_time_p95_s < buckets[-1]:
            # histogram_quantile cannot tell values outside the finite buckets apart.
            raise AlertConfigError(
                f"response_time_p95_s: {self.response_time_p95_s} must lie between the "
                f"smallest and largest http_buckets bounds ({buckets[:1]}..{buckets[-1:]})"
            )

    def runbook(self, alert: str) -> str:
        """Runbook address of ``alert`` (a heading in docs/dashboards-and-alerts.md)."""
        return f"{self.runbook_base_url}#{alert.lower()}"


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One Prometheus alerting rule."""

    name: str
    group: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    runbook_url: str
    team: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        out = {names.LABEL_SEVERITY: self.severity}
        if self.team:
            out[names.LABEL_TEAM] = self.team
        return out

    def to_dict(self) -> dict[str, Any]:
        """The rule as it appears in a Prometheus rule file."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": self.labels,
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": self.runbook_url,
            },
        }


def _by(labels: tuple[str, ...]) -> str:
    return ", ".join(labels)


def _selector(metric: str, matchers: str = "") -> str:
    return f"{metric}{{{matchers}}}" if matchers else metric


def error_ratio_expr(window: str, min_rps: float, by: tuple[str, ...] = BY_SERVICE) -> str:
    """5xx share of requests; series with no traffic drop out instead of becoming NaN."""
    errors = _selector(_REQUESTS, f'{names.LABEL_HTTP_STATUS}=~"5.."')
    return (
        f"sum by ({_by(by)}) (rate({errors}[{window}]))\n"
        f"/\n"
        f"(sum by ({_by(by)}) (rate({_REQUESTS}[{window}])) > {_number(min_rps)})"
    )


def _number(value: float) -> str:
    """Exact PromQL number text (ints accepted: callers may pass ``1000``)."""
    return exact_number(float(value))


def _pct(ratio: float) -> str:
    return f"{ratio * 100:g}%"


def platform_alerts(config: AlertConfig | None = None) -> tuple[AlertRule, ...]:
    """Every platform alert, in file order."""
    c = config or AlertConfig()

    def rule(name: str, group: str, expr: str, for_: str, severity: str,
             summary: str, description: str) -> AlertRule:
        return AlertRule(name, group, expr, for_, severity, summary, description,
                         c.runbook(name), c.team)

    envs = "|".join(c.throughput_environments)
    requests = _selector(_REQUESTS, f'{names.LABEL_ENVIRONMENT}=~"{envs}"')
    p95 = (
        f"histogram_quantile(0.95, sum by ({_by((*BY_SERVICE, names.LABEL_LE))}) "
        f"(rate({_BUCKETS}[{c.latency_window}])))"
    )
    readiness = _selector(
        names.HEALTH_GROUP_STATUS, f'{names.LABEL_GROUP}="{names.READINESS_GROUP}"'
    )
    return (
        rule(names.ALERT_HIGH_ERROR_RATE, names.ALERT_GROUP_PLATFORM,
             f"{error_ratio_expr(c.error_window, c.ratio_min_rps)}\n"
             f"> {_number(c.error_ratio)}",
             "5m", names.SEVERITY_CRITICAL,
             "High error rate on {{ $labels.service }}",
             "{{ $value | humanizePercentage }} of requests to {{ $labels.service }} in "
             "{{ $labels.environment }} failed with a 5xx status over the last "
             f"{c.error_window} (threshold {_pct(c.error_ratio)})."),
        rule(names.ALERT_HIGH_RESPONSE_TIME, names.ALERT_GROUP_PLATFORM,
             f"{p95}\n> {_number(c.response_time_p95_s)}",
             "10m", names.SEVERITY_WARNING,
             "High response time on {{ $labels.service }}",
             "95th percentile response time of {{ $labels.service }} in "
             "{{ $labels.environment }} is {{ $value | humanizeDuration }} "
             f"(threshold {c.response_time_p95_s:g}s)."),
        rule(names.ALERT_SERVICE_DOWN, names.ALERT_GROUP_PLATFORM,
             f"{names.SCRAPE_UP} == 0", "1m", names.SEVERITY_CRITICAL,
             "Target {{ $labels.instance }} is down",
             "Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}).",),
        rule(names.ALERT_HIGH_MEMORY, names.ALERT_GROUP_PLATFORM,
             f"max by ({_by(BY_TARGET)}) ({names.PROCESS_RESIDENT_MEMORY})\n"
             f"/\n(max by ({_by(BY_TARGET)}) ({names.PROCESS_MEMORY_LIMIT}) > 0)\n"
             f"> {_number(c.memory_ratio)}",
             "5m", names.SEVERITY_WARNING,
             "High memory usage on {{ $labels.instance }}",
             "{{ $labels.instance }} (job {{ $labels.job }}) uses "
             "{{ $value | humanizePercentage }} of its memory limit "
             f"(threshold {_pct(c.memory_ratio)})."),
        rule(names.ALERT_DB_POOL_EXHAUSTED, names.ALERT_GROUP_PLATFORM,
             f"sum by ({_by(BY_INSTANCE)}) ({names.DB_POOL_CONNECTIONS_IN_USE})\n"
             f"/\n(sum by ({_by(BY_INSTANCE)}) ({names.DB_POOL_CONNECTIONS_MAX}) > 0)\n"
             f"> {_number(c.db_pool_ratio)}",
             "2m", names.SEVERITY_CRITICAL,
             "Database connection pool nearly exhausted on {{ $labels.service }}",
             "{{ $labels.service }} on {{ $labels.instance }} uses "
             "{{ $value | humanizePercentage }} of its database connections "
             f"(threshold {_pct(c.db_pool_ratio)})."),
        rule(names.ALERT_ERROR_RATE_SLA, names.ALERT_GROUP_SLA,
             f"{error_ratio_expr(c.sla_error_window, c.ratio_min_rps)}\n"
             f"> {_number(c.sla_error_ratio)}",
             "5m", names.SEVERITY_WARNING,
             "{{ $labels.service }} is above the SLA error rate",
             "{{ $value | humanizePercentage }} of requests to {{ $labels.service }} in "
             "{{ $labels.environment }} failed over the last "
             f"{c.sla_error_window}; the SLA allows {_pct(c.sla_error_ratio)}."),
        rule(names.ALERT_THROUGHPUT_FLOOR, names.ALERT_GROUP_SLA,
             f"sum by ({_by(BY_PLATFORM)}) (rate({requests}[{c.throughput_window}]))\n"
             f"< {_number(c.throughput_floor_rps)}",
             "10m", names.SEVERITY_WARNING,
             "Throughput of {{ $labels.application }} is below the floor",
             "{{ $labels.application }} in {{ $labels.environment }} serves "
             "{{ $value | humanize }} requests/s; the SLA floor is "
             f"{c.throughput_floor_rps:g} requests/s."),
        rule(names.ALERT_READINESS_FAILING, names.ALERT_GROUP_SLA,
             f"min by ({_by(BY_INSTANCE)}) ({readiness}) == 0",
             "3m", names.SEVERITY_WARNING,
             "Readiness check failing on {{ $labels.service }}",
             "The readiness group of {{ $labels.service }} on {{ $labels.instance }} "
             "reports DOWN, so it receives no traffic; see "
             f"{names.READINESS_PATH}."),
    )


def alert_rule_file(config: AlertConfig | None = None) -> dict[str, Any]:
    """The platform rule file as data: one group per concern, rules in a fixed order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for rule in platform_alerts(config):
        groups.setdefault(rule.group, []).append(rule.to_dict())
    return {"groups": [{"name": name, "rules": rules} for name, rules in groups.items()]}


def render_alert_rules(config: AlertConfig | None = None) -> str:
    """``alerts/crm-platform.rules.yml`` text."""
    return render_yaml(
        alert_rule_file(config),
        header="source: crm_observability/generators/alerts.py (crm-obs generate)",
    )


def all_alert_exprs(config: AlertConfig | None = None) -> list[tuple[str, str]]:
    """``(alert name, expr)`` for every platform alert, e.g. to evaluate them in Prometheus."""
    return [(rule.name, rule.expr) for rule in platform_alerts(config)]
