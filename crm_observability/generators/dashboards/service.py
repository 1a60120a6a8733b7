"""Per-service dashboard: the design document's "CRM Platform Overview" panels for one service.

Request rate, error rate, p95/p99 response time and active users, plus
saturation (in-flight requests, DB pool, cache) and health, with links to the
service's traces and logs.  Latency targets ask for exemplars, which the
provisioned Prometheus datasource links to the trace by ``trace_id``.
"""

from __future__ import annotations

from crm_observability import conventions as names
from crm_observability.generators.dashboards.options import DashboardOptions
from crm_observability.generators.dashboards.panels import (
    UP_DOWN,
    DashboardSpec,
    Link,
    Panel,
    Query,
    Row,
)
from crm_observability.generators.dashboards.queries import (
    CLIENT_ERROR,
    RANGE,
    REQUEST_BUCKETS,
    REQUESTS,
    SERVER_ERROR,
    gauge_ratio,
    quantile,
    rate_sum,
    ratio,
    scoped,
)

UID = "crm-service"
_ROUTE = (names.LABEL_HTTP_ROUTE,)


def service_dashboard(options: DashboardOptions) -> DashboardSpec:
    requests = scoped(REQUESTS)
    buckets = scoped(REQUEST_BUCKETS)
    trace_links = (Link("Traces of ${service}", options.traces_url),
                   Link("Logs of ${service}", options.logs_url))
    traffic = Row(100, "Traffic and errors", (
        Panel(1, "Request rate", "Requests per second by route (all methods and statuses).",
              "reqps", (Query(rate_sum(requests, _ROUTE), "{{http_route}}"),), links=trace_links),
        Panel(2, "Error rate", "Share of requests answered with a 5xx (server) or 4xx "
              "(client) status. A gap means no traffic.", "percentunit",
              (Query(ratio(scoped(REQUESTS, SERVER_ERROR), requests), "5xx"),
               Query(ratio(scoped(REQUESTS, CLIENT_ERROR), requests), "4xx")),
              min=0, thresholds=((0.01, "orange"), (0.1, "red")), links=trace_links),
        Panel(3, "Response time p95 and p99", "95th and 99th percentile of request duration, "
              "from the histogram buckets. Exemplar dots open the trace.", "s",
              (Query(quantile(0.95, buckets), "p95", exemplar=True),
               Query(quantile(0.99, buckets), "p99", exemplar=True)),
              min=0, thresholds=((0.5, "orange"), (2.0, "red"))),
        Panel(4, "p95 response time by route", "95th percentile of request duration per "
              "route template.", "s",
              (Query(quantile(0.95, buckets, _ROUTE), "{{http_route}}", exemplar=True),),
              min=0),
        Panel(5, "Active users", "Users active now, as reported by the service "
              f"({names.USERS_ACTIVE}).", "short",
              (Query(f"sum({scoped(names.USERS_ACTIVE)})", "active users", instant=True),),
              kind="stat", width=6, height=6),
        Panel(6, "Requests in the range", "Requests served over the picked time range.",
              "short", (Query(f"sum(increase({requests}[{RANGE}]))", "requests",
                              instant=True),),
              kind="stat", width=6, height=6),
    ))
    saturation = Row(200, "Saturation", (
        Panel(7, "In-flight requests", "Requests being handled right now "
              f"({names.HTTP_SERVER_ACTIVE}).", "short",
              (Query(f"sum({scoped(names.HTTP_SERVER_ACTIVE)})", "in flight"),), min=0,
              width=8),
        Panel(8, "Database pool saturation", "Connections in use over the pool size; "
              "the DatabaseConnectionPoolExhausted alert fires above 90%.", "percentunit",
              (Query(gauge_ratio(scoped(names.DB_POOL_CONNECTIONS_IN_USE),
                                 scoped(names.DB_POOL_CONNECTIONS_MAX),
                                 (names.LABEL_INSTANCE,)), "{{instance}}"),),
              min=0, max=1, thresholds=((0.75, "orange"), (0.9, "red")), width=8),
        Panel(9, "Cache hit ratio", "Share of cache lookups that hit.", "percentunit",
              (Query(ratio(scoped(names.CACHE_REQUESTS_TOTAL,
                                  f'{names.LABEL_CACHE_RESULT}="hit"'),
                           scoped(names.CACHE_REQUESTS_TOTAL)), "hit ratio"),),
              min=0, max=1, width=8),
    ))
    health = Row(300, "Health", (
        Panel(10, "Health checks", "Status of each health indicator (1 = UP): the worst "
              "instance wins.", "short",
              (Query(f"min by ({names.LABEL_CHECK}) ({scoped(names.HEALTH_CHECK_STATUS)})",
                     "{{check}}", instant=True),),
              kind="stat", mappings=UP_DOWN, width=12, height=6),
        Panel(11, "Health groups", "Liveness, readiness and startup (1 = UP): the worst "
              "instance wins.", "short",
              (Query(f"min by ({names.LABEL_GROUP}) ({scoped(names.HEALTH_GROUP_STATUS)})",
                     "{{group}}", instant=True),),
              kind="stat", mappings=UP_DOWN, width=12, height=6),
    ))
    return DashboardSpec(
        uid=UID, title="CRM service", tags=("crm", "service"),
        description="One CRM service: traffic, errors, latency, saturation and health.",
        rows=(traffic, saturation, health), multi_service=False, links=trace_links,
    )
