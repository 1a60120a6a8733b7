"""PromQL snippets shared by the dashboards, scoped by the template variables.

Every range uses ``$__rate_interval`` (at least four scrapes, whatever the zoom)
unless a panel wants the whole picked range (``$__range``).  Ratios divide by a
denominator filtered with ``> 0`` so zero traffic shows a gap, never NaN, and
the numerator falls back to ``denominator * 0`` so "no errors" reads 0, not "no data".
"""

from __future__ import annotations

from crm_observability import conventions as names

RATE_INTERVAL = "$__rate_interval"
RANGE = "$__range"
VAR_DATASOURCE = "datasource"
VAR_ENVIRONMENT = "environment"
VAR_SERVICE = "service"
# Grafana variables a panel query may contain, with a value that makes it plain PromQL.
GRAFANA_SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    f"${VAR_ENVIRONMENT}": ".*",
    f"${VAR_SERVICE}": ".*",
}

REQUESTS = f"{names.HTTP_SERVER_DURATION}_count"
REQUEST_BUCKETS = f"{names.HTTP_SERVER_DURATION}_bucket"
SERVER_ERROR = f'{names.LABEL_HTTP_STATUS}=~"5.."'
CLIENT_ERROR = f'{names.LABEL_HTTP_STATUS}=~"4.."'


def scoped(metric: str, *matchers: str, service: bool = True) -> str:
    """``metric{environment=~"$environment", service=~"$service", ...}``."""
    scope = [f'{names.LABEL_ENVIRONMENT}=~"${VAR_ENVIRONMENT}"']
    if service:
        scope.append(f'{names.LABEL_SERVICE}=~"${VAR_SERVICE}"')
    return f"{metric}{{{', '.join([*scope, *matchers])}}}"


def by(labels: tuple[str, ...]) -> str:
    """`` by (a, b) `` to put after ``sum`` (empty for no labels)."""
    return f" by ({', '.join(labels)}) " if labels else ""


def rate_sum(selector: str, group: tuple[str, ...] = (), window: str = RATE_INTERVAL) -> str:
    return f"sum{by(group)}(rate({selector}[{window}]))"


def ratio(part: str, whole: str, group: tuple[str, ...] = ()) -> str:
    """``part / whole`` per group: 0 without errors, a gap without traffic."""
    num = rate_sum(part, group)
    den = rate_sum(whole, group)
    return f"({num} or {den} * 0)\n/\n({den} > 0)"


def quantile(q: float, buckets: str, group: tuple[str, ...] = ()) -> str:
    labels = (*group, names.LABEL_LE)
    return f"histogram_quantile({q}, {rate_sum(buckets, labels)})"


def gauge_ratio(part: str, whole: str, group: tuple[str, ...] = ()) -> str:
    return f"sum{by(group)}({part})\n/\n(sum{by(group)}({whole}) > 0)"
