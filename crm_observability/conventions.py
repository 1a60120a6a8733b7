"""The one vocabulary of crm-observability.

Every metric, label, span, rule and path name used by the middleware, the
rule and dashboard generators, the linter and the report lives here.  A rename
happens in this module only; everything else imports the constant.

Add names here (never inline a metric or label string elsewhere).
"""

from __future__ import annotations

from typing import Final

# --- common labels (Micrometer "common tags") -------------------------------
LABEL_APPLICATION: Final = "application"
LABEL_SERVICE: Final = "service"
LABEL_ENVIRONMENT: Final = "environment"
COMMON_LABELS: Final = (LABEL_APPLICATION, LABEL_SERVICE, LABEL_ENVIRONMENT)
DEFAULT_APPLICATION: Final = "crm-platform"

# --- HTTP server metrics (OTel HTTP semantic conventions as Prometheus names)
HTTP_SERVER_DURATION: Final = "http_server_request_duration_seconds"
HTTP_SERVER_ACTIVE: Final = "http_server_active_requests"
LABEL_HTTP_METHOD: Final = "http_request_method"
LABEL_HTTP_ROUTE: Final = "http_route"
LABEL_HTTP_STATUS: Final = "http_response_status_code"
# OTel advisory buckets for http.server.request.duration (seconds), plus 2.0: the design
# document's p99 < 2 s SLO needs that boundary to be measured exactly.
HTTP_DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 2.5, 5.0, 7.5, 10.0,
)
# Route label for requests that matched no route: one bucket, never the raw path.
UNMATCHED_ROUTE: Final = "__unmatched__"
# Method label for methods outside the standard set (keeps cardinality bounded).
OTHER_METHOD: Final = "_OTHER"
STANDARD_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

# --- the library's own health metrics ---------------------------------------
SERIES_OVERFLOW_TOTAL: Final = "crm_observability_series_overflow_total"
TELEMETRY_ERRORS_TOTAL: Final = "crm_observability_telemetry_errors_total"
SPANS_DROPPED_TOTAL: Final = "crm_observability_spans_dropped_total"
LABEL_METRIC: Final = "metric"
LABEL_COMPONENT: Final = "component"
OVERFLOW_LABEL_VALUE: Final = "__overflow__"
DEFAULT_SERIES_LIMIT: Final = 2000

# --- health metrics ----------------------------------------------------------
HEALTH_CHECK_STATUS: Final = "crm_health_check_status"  # 1 = UP, 0 otherwise
HEALTH_CHECK_DURATION: Final = "crm_health_check_duration_seconds"
HEALTH_GROUP_STATUS: Final = "crm_health_group_status"  # 1 = UP, 0 otherwise
LABEL_CHECK: Final = "check"
LABEL_GROUP: Final = "group"
# Built-in health components (Spring Actuator names) and the health+json media type.
HEALTH_PING: Final = "ping"
HEALTH_READINESS_STATE: Final = "readinessState"
HEALTH_STARTUP_STATE: Final = "startupState"
HEALTH_JSON_MEDIA_TYPE: Final = "application/health+json"

# --- database pool and cache -------------------------------------------------
DB_POOL_CONNECTIONS_IN_USE: Final = "crm_db_pool_connections_in_use"
DB_POOL_CONNECTIONS_MAX: Final = "crm_db_pool_connections_max"
LABEL_POOL: Final = "pool"  # the name given to register_sqlalchemy_pool
CACHE_REQUESTS_TOTAL: Final = "crm_cache_requests_total"
LABEL_CACHE_RESULT: Final = "result"  # hit | miss | error

# --- business metrics (design document "Custom Metrics Implementation") -------
CONTACTS_CREATED_TOTAL: Final = "crm_contacts_created_total"
DEALS_WON_TOTAL: Final = "crm_deals_won_total"
CONTACTS_SEARCH_DURATION: Final = "crm_contacts_search_duration_seconds"
USERS_ACTIVE: Final = "crm_users_active"
LABEL_TYPE: Final = "type"

# --- process metrics exported by prometheus_client's process collector -------
PROCESS_RESIDENT_MEMORY: Final = "process_resident_memory_bytes"
PROCESS_MEMORY_LIMIT: Final = "crm_process_memory_limit_bytes"

# --- tracing -----------------------------------------------------------------
INSTRUMENTATION_NAME: Final = "crm_observability"
SPAN_CONTACT_SEARCH: Final = "contact-search"
ATTR_QUERY_LENGTH: Final = "query.length"
ATTR_TENANT_ID: Final = "tenant.id"
ATTR_USER_ID: Final = "enduser.id"
ATTR_RESULTS_COUNT: Final = "results.count"
ATTR_REQUEST_ID: Final = "crm.request_id"
BAGGAGE_TENANT_ID: Final = "tenant_id"
# Semantic-convention keys used by the tracing package (resource, client spans).
RESOURCE_SERVICE_NAME: Final = "service.name"
RESOURCE_SERVICE_VERSION: Final = "service.version"
RESOURCE_SERVICE_NAMESPACE: Final = "service.namespace"
RESOURCE_DEPLOYMENT_ENVIRONMENT: Final = "deployment.environment"  # pre-1.27 semconv name
RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"
ATTR_HTTP_REQUEST_METHOD: Final = "http.request.method"
ATTR_HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
ATTR_SERVER_ADDRESS: Final = "server.address"
ATTR_SERVER_PORT: Final = "server.port"
ATTR_URL_FULL: Final = "url.full"
ATTR_ERROR_TYPE: Final = "error.type"
ATTR_CODE_FUNCTION: Final = "code.function.name"
ATTR_HTTP_ROUTE: Final = "http.route"
ATTR_URL_PATH: Final = "url.path"
ATTR_URL_SCHEME: Final = "url.scheme"
OTLP_TRACES_PATH: Final = "/v1/traces"  # appended to a base OTLP/HTTP endpoint (OTel spec)

# --- context (MDC) keys and log fields ---------------------------------------
CTX_REQUEST_ID: Final = "request_id"
CTX_TENANT_ID: Final = "tenant_id"
CTX_USER_ID: Final = "user_id"
CTX_OPERATION: Final = "operation"
REQUEST_ID_HEADER: Final = "x-request-id"
LOG_TRACE_ID: Final = "trace_id"
LOG_SPAN_ID: Final = "span_id"
ACCESS_LOGGER: Final = "crm_observability.access"
# Core fields of every JSON log line (ECS layout maps them, see logging/ecs.py).
LOG_TIMESTAMP: Final = "timestamp"
LOG_LEVEL: Final = "level"
LOG_LOGGER: Final = "logger"
LOG_MESSAGE: Final = "message"
LOG_SERVICE: Final = "service"
LOG_ENVIRONMENT: Final = "environment"
LOG_EXCEPTION: Final = "exception"
# Fields of the one access line per request (logging.log_access).
LOG_HTTP_METHOD: Final = "method"
LOG_HTTP_ROUTE: Final = "route"
LOG_HTTP_PATH: Final = "path"
LOG_HTTP_STATUS: Final = "status"
LOG_DURATION_MS: Final = "duration_ms"
LOG_RESPONSE_BYTES: Final = "response_bytes"
LOG_CLIENT: Final = "client"
# Server loggers taken over by configure_logging (access loggers are silenced:
# the middleware writes the access line, with the route template).
SERVER_LOGGERS: Final = ("uvicorn", "uvicorn.error", "gunicorn", "gunicorn.error")
SERVER_ACCESS_LOGGERS: Final = ("uvicorn.access", "gunicorn.access")

# --- endpoints ---------------------------------------------------------------
METRICS_PATH: Final = "/metrics"
HEALTH_PATH: Final = "/actuator/health"
LIVENESS_PATH: Final = "/actuator/health/liveness"
READINESS_PATH: Final = "/actuator/health/readiness"
STARTUP_PATH: Final = "/actuator/health/startup"
LIVEZ_PATH: Final = "/livez"
READYZ_PATH: Final = "/readyz"
HEALTH_GROUPS: Final = ("liveness", "readiness", "startup")

# --- SLO recording rules (level:metric:operations) ---------------------------
SLO_RULE_PREFIX: Final = "crm_slo"
SLO_ERROR_RATIO_RULE: Final = "crm_slo:sli_error:ratio_rate{window}"
SLO_OBJECTIVE_RULE: Final = "crm_slo:objective:ratio"
SLO_ERROR_BUDGET_RULE: Final = "crm_slo:error_budget:ratio"
SLO_PERIOD_DAYS_RULE: Final = "crm_slo:time_period:days"
SLO_CURRENT_BURN_RULE: Final = "crm_slo:current_burn_rate:ratio"
SLO_PERIOD_BURN_RULE: Final = "crm_slo:period_burn_rate:ratio"
SLO_BUDGET_REMAINING_RULE: Final = "crm_slo:period_error_budget_remaining:ratio"
SLO_INFO_RULE: Final = "crm_slo_info"
LABEL_SLO: Final = "slo"
LABEL_SEVERITY: Final = "severity"
LABEL_LONG_WINDOW: Final = "long_window"
LABEL_SHORT_WINDOW: Final = "short_window"
LABEL_WINDOW: Final = "window"
# Windows for which an error-ratio recording rule is generated.
SLO_WINDOWS: Final = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# Windows shown in reports and dashboards (plus the SLO period).
REPORT_WINDOWS: Final = ("5m", "1h", "6h", "1d", "3d")
# Per-second event rates over 5m (labels slo, service only) feeding the period ratio.
SLO_ERROR_RATE_RULE: Final = "crm_slo:sli_error:rate{window}"
SLO_TOTAL_RATE_RULE: Final = "crm_slo:sli_total:rate{window}"
# Labels of the crm_slo_info series.
LABEL_OBJECTIVE: Final = "objective"
LABEL_PERIOD: Final = "period"
LABEL_SLI_KIND: Final = "sli"
# Alert names: SLOErrorBudgetBurn + Page|Ticket + Fast|Slow; one absent-data alert.
SLO_BURN_ALERT_PREFIX: Final = "SLOErrorBudgetBurn"
SLO_ABSENT_ALERT: Final = "SLOSLIAbsent"


def slo_error_ratio_rule(window: str) -> str:
    """Name of the error-ratio recording rule for one window (e.g. ``5m``)."""
    return SLO_ERROR_RATIO_RULE.format(window=window)

# --- platform alerts, dashboards and generated paths (generators) ------------
SCRAPE_UP: Final = "up"  # Prometheus' own per-target scrape health (1 = scraped)
ALERTS_SERIES: Final = "ALERTS"  # Prometheus' own series of pending/firing alerts
LABEL_JOB: Final = "job"
LABEL_INSTANCE: Final = "instance"
LABEL_LE: Final = "le"
LABEL_TEAM: Final = "team"
LABEL_ALERTNAME: Final = "alertname"
LABEL_ALERTSTATE: Final = "alertstate"
READINESS_GROUP: Final = "readiness"  # one of HEALTH_GROUPS
SEVERITY_CRITICAL: Final = "critical"
SEVERITY_WARNING: Final = "warning"
ALERT_HIGH_ERROR_RATE: Final = "HighErrorRate"
ALERT_HIGH_RESPONSE_TIME: Final = "HighResponseTime"
ALERT_SERVICE_DOWN: Final = "ServiceDown"
ALERT_HIGH_MEMORY: Final = "HighMemoryUsage"
ALERT_DB_POOL_EXHAUSTED: Final = "DatabaseConnectionPoolExhausted"
ALERT_ERROR_RATE_SLA: Final = "ErrorRateAboveSLA"
ALERT_THROUGHPUT_FLOOR: Final = "ThroughputBelowFloor"
ALERT_READINESS_FAILING: Final = "ReadinessCheckFailing"
ALERT_GROUP_PLATFORM: Final = "crm-platform-alerts"
ALERT_GROUP_SLA: Final = "crm-platform-sla"
# Exemplar label carrying the trace id (Grafana links it to the trace datasource).
EXEMPLAR_TRACE_ID: Final = "trace_id"
ALERTS_DIR: Final = "alerts"
ALERT_TESTS_DIR: Final = "alerts/tests"
PLATFORM_RULES_FILE: Final = "alerts/crm-platform.rules.yml"
DASHBOARDS_DIR: Final = "dashboards"
GRAFANA_PROVISIONING_DIR: Final = "dashboards/provisioning"

# --- deployment (generators/deploy) ------------------------------------------
# Per-pod request rate the HPA scales on, served by prometheus-adapter from
# HTTP_SERVER_DURATION's _count (rule in deploy/k8s/*/prometheus-adapter.yaml).
HPA_REQUESTS_PER_SECOND: Final = "http_server_requests_per_second"
LABEL_POD_TEMPLATE_HASH: Final = "rollouts_pod_template_hash"  # copied from the Argo pod label
DEPLOY_DIR: Final = "deploy"
