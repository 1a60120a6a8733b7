"""Settings shared by the dashboard builders (links to the trace and log UIs)."""

from __future__ import annotations

from dataclasses import dataclass

# Jaeger UI and Kibana on a local stack; ${service} is the dashboard variable.
DEFAULT_TRACES_URL = "http://localhost:16686/search?service=${service}"
DEFAULT_LOGS_URL = (
    "http://localhost:5601/app/discover#/?_a=(query:(language:kuery,"
    "query:'service:%22${service}%22'))"
)


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    """Where the dashboards' trace and log links point."""

    traces_url: str = DEFAULT_TRACES_URL
    logs_url: str = DEFAULT_LOGS_URL
