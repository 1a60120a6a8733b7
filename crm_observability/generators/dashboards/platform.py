"""Platform overview: every service side by side, plus targets, memory and alerts."""

from __future__ import annotations

from crm_observability import conventions as names
from crm_observability.generators.dashboards.panels import (
    UP_DOWN,
    DashboardSpec,
    Panel,
    Query,
    Row,
)
from crm_observability.generators.dashboards.queries import (
    REQUEST_BUCKETS,
    REQUESTS,
    SERVER_ERROR,
    gauge_ratio,
    quantile,
    rate_sum,
    ratio,
    scoped,
)

UID = "crm-platform-overview"
_SERVICE = (names.LABEL_SERVICE,)
_TARGET = (names.LABEL_JOB, names.LABEL_INSTANCE)


def platform_dashboard() -> DashboardSpec:
    requests = scoped(REQUESTS)
    buckets = scoped(REQUEST_BUCKETS)
    readiness = scoped(
        names.HEALTH_GROUP_STATUS, f'{names.LABEL_GROUP}="{names.READINESS_GROUP}"'
    )
    firing = f'{names.ALERTS_SERIES}{{{names.LABEL_ALERTSTATE}="firing"}}'
    status = Row(100, "Status", (
        Panel(1, "Scrape targets up", "Targets Prometheus scraped successfully, per job.",
              "short", (Query(f"sum by ({names.LABEL_JOB}) ({names.SCRAPE_UP})", "{{job}}",
                              instant=True),), kind="stat", width=8, height=6),
        Panel(2, "Readiness by service", "Readiness group per service (1 = UP); the worst "
              "instance wins.", "short",
              (Query(f"min by ({names.LABEL_SERVICE}) ({readiness})", "{{service}}",
                     instant=True),),
              kind="stat", mappings=UP_DOWN, width=8, height=6),
        Panel(3, "Firing alerts", "Alerts firing now, by severity (0 when none).", "short",
              (Query(f"sum by ({names.LABEL_SEVERITY}) ({firing}) or on() vector(0)",
                     "{{severity}}", instant=True),),
              kind="stat", thresholds=((1, "red"),), width=8, height=6),
    ))
    traffic = Row(200, "Traffic, errors and latency", (
        Panel(4, "Request rate by service", "Requests per second per service.", "reqps",
              (Query(rate_sum(requests, _SERVICE), "{{service}}"),)),
        Panel(5, "Error rate by service", "Share of requests answered with a 5xx status, "
              "per service. A gap means no traffic.", "percentunit",
              (Query(ratio(scoped(REQUESTS, SERVER_ERROR), requests, _SERVICE),
                     "{{service}}"),), min=0, thresholds=((0.01, "orange"), (0.1, "red"))),
        Panel(6, "p95 response time by service", "95th percentile request duration per "
              "service.", "s", (Query(quantile(0.95, buckets, _SERVICE), "{{service}}",
                                      exemplar=True),), min=0),
        Panel(7, "p99 response time by service", "99th percentile request duration per "
              "service.", "s", (Query(quantile(0.99, buckets, _SERVICE), "{{service}}",
                                      exemplar=True),), min=0),
    ))
    saturation = Row(300, "Saturation", (
        Panel(8, "In-flight requests by service", "Requests being handled right now.", "short",
              (Query(f"sum by ({names.LABEL_SERVICE}) ({scoped(names.HTTP_SERVER_ACTIVE)})",
                     "{{service}}"),), min=0, width=8),
        Panel(9, "Database pool saturation by service", "Connections in use over the pool "
              "size.", "percentunit",
              (Query(gauge_ratio(scoped(names.DB_POOL_CONNECTIONS_IN_USE),
                                 scoped(names.DB_POOL_CONNECTIONS_MAX), _SERVICE),
                     "{{service}}"),), min=0, max=1, thresholds=((0.9, "red"),), width=8),
        Panel(10, "Resident memory by target", "Process resident memory (RSS) per scrape "
              "target.", "bytes",
              (Query(f"max by ({', '.join(_TARGET)}) ({names.PROCESS_RESIDENT_MEMORY})",
                     "{{instance}}"),), min=0, width=8),
    ))
    library = Row(400, "Telemetry pipeline", (
        Panel(11, "Telemetry failures", "Exporter, logging and metrics failures the library "
              "contained, and series refused by the cardinality guard (0 when none).", "cps",
              (Query(f"{rate_sum(names.TELEMETRY_ERRORS_TOTAL)} or vector(0)",
                     "telemetry failures"),
               Query(f"{rate_sum(names.SERIES_OVERFLOW_TOTAL)} or vector(0)",
                     "series overflow")),
              min=0, width=24),
    ))
    return DashboardSpec(
        uid=UID, title="CRM platform overview", tags=("crm", "platform"),
        description="All CRM services side by side: traffic, errors, latency, saturation.",
        rows=(status, traffic, saturation, library),
    )
