"""Elastic Common Schema layout (``log_format="ecs"``) for the ELK pipeline.

Follows the ecs-logging spec: ``@timestamp``, ``log.level`` and ``message``
first, ``ecs.version`` present, everything else as nested ECS objects.  Our
well-known fields map to their ECS names; any other scalar field goes under
``labels`` (ECS's place for custom keywords), non-scalars as JSON text there.
"""

from __future__ import annotations

from typing import Any

from crm_observability import conventions as names
from crm_observability.logging.renderers import dumps

ECS_VERSION = "8.11.0"

# our field -> ECS field (dotted path, nested on output)
FIELD_MAP: dict[str, str] = {
    names.LOG_LOGGER: "log.logger",
    names.LOG_SERVICE: "service.name",
    names.LOG_ENVIRONMENT: "service.environment",
    names.LOG_TRACE_ID: "trace.id",
    names.LOG_SPAN_ID: "span.id",
    names.LOG_EXCEPTION: "error.stack_trace",
    names.CTX_REQUEST_ID: "http.request.id",
    names.CTX_USER_ID: "user.id",
    names.CTX_TENANT_ID: "organization.id",
    names.CTX_OPERATION: "event.action",
    names.LOG_HTTP_METHOD: "http.request.method",
    names.LOG_HTTP_ROUTE: "http.route",
    names.LOG_HTTP_PATH: "url.path",
    names.LOG_HTTP_STATUS: "http.response.status_code",
    names.LOG_RESPONSE_BYTES: "http.response.body.bytes",
    names.LOG_CLIENT: "client.address",
}
_SCALARS = (str, int, float, bool)


def _put(out: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = out
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


class ECSRenderer:
    """Render the flat event as one ECS JSON line."""

    __slots__ = ("service_version",)

    def __init__(self, service_version: str) -> None:
        self.service_version = service_version

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> str:
        level = event.pop(names.LOG_LEVEL, None)
        out: dict[str, Any] = {
            "@timestamp": event.pop(names.LOG_TIMESTAMP, None),
            "log.level": level.lower() if isinstance(level, str) else level,
            "message": event.pop("event", None),
            "ecs.version": ECS_VERSION,
        }
        _put(out, "service.version", self.service_version)
        duration_ms = event.pop(names.LOG_DURATION_MS, None)
        if isinstance(duration_ms, int | float):
            _put(out, "event.duration", int(duration_ms * 1_000_000))  # ECS: nanoseconds
        labels: dict[str, Any] = {}
        for key, value in event.items():
            target = FIELD_MAP.get(key) if isinstance(key, str) else None
            if target is not None:
                _put(out, target, value)
            elif isinstance(value, _SCALARS) or value is None:
                labels[str(key)] = value
            else:
                labels[str(key)] = dumps(value)
        if labels:
            out["labels"] = labels
        return dumps(out)
