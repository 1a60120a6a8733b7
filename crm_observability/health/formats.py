"""Response bodies: Spring Actuator JSON and the IETF ``application/health+json`` draft.

Both are pure functions of a :class:`GroupResult`.  With details hidden a body
holds the status only: public callers learn whether to route traffic, nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from crm_observability import conventions as names
from crm_observability.health.model import Status
from crm_observability.settings import Settings

if TYPE_CHECKING:
    from crm_observability.health.registry import GroupResult

ACTUATOR_MEDIA_TYPE = "application/json"
HEALTH_JSON_MEDIA_TYPE = names.HEALTH_JSON_MEDIA_TYPE
_IETF = {Status.UP: "pass", Status.UNKNOWN: "warn", Status.DOWN: "fail",
         Status.OUT_OF_SERVICE: "fail"}


def actuator(result: GroupResult, *, show_details: bool,
             groups: tuple[str, ...] = ()) -> dict[str, Any]:
    """``{"status": "UP", "components": {"db": {"status": "UP", "details": {...}}}}``."""
    body: dict[str, Any] = {"status": result.status.value}
    if not show_details:
        return body
    components: dict[str, Any] = {}
    for name, check in result.checks.items():
        component: dict[str, Any] = {"status": check.health.status.value}
        if check.health.details:
            component["details"] = dict(check.health.details)
        components[name] = component
    body["components"] = components
    if result.degraded:
        body["degraded"] = list(result.degraded)
    if result.group is None and groups:
        body["groups"] = list(groups)
    return body


def ietf_status(result: GroupResult) -> str:
    """pass / warn / fail; an UP group with a failing non-critical check is ``warn``."""
    status = _IETF[result.status]
    return "warn" if status == "pass" and result.degraded else status


def health_json(result: GroupResult, settings: Settings, *, show_details: bool) -> dict[str, Any]:
    """draft-inadarei-api-health-check: status, version, releaseId, serviceId, checks."""
    body: dict[str, Any] = {"status": ietf_status(result)}
    if not show_details:
        return body
    body["version"] = settings.service_version.split(".", 1)[0]
    body["releaseId"] = settings.service_version
    body["serviceId"] = settings.service_name
    checks: dict[str, list[dict[str, Any]]] = {}
    for name, check in result.checks.items():
        entry: dict[str, Any] = {
            "componentId": name,
            "status": _IETF[check.health.status],
            "observedValue": round(check.duration_s * 1000.0, 3),
            "observedUnit": "ms",
            "time": datetime.fromtimestamp(check.checked_at, UTC).isoformat(),
        }
        details = dict(check.health.details)
        error = details.pop("error", None)
        if error is not None:
            entry["output"] = str(error)
        if details:
            entry["details"] = details
        checks[f"{name}:responseTime"] = [entry]
    body["checks"] = checks
    return body


def _media_ranges(accept: str) -> dict[str, float]:
    ranges: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges[media.lower()] = max(q, ranges.get(media.lower(), 0.0))
    return ranges


def wants_health_json(accept: str | None) -> bool:
    """True when Accept names application/health+json at least as strongly as plain JSON."""
    if not accept or HEALTH_JSON_MEDIA_TYPE not in accept.lower():
        return False
    ranges = _media_ranges(accept)
    q = ranges.get(HEALTH_JSON_MEDIA_TYPE, 0.0)
    rival = max(ranges.get(m, 0.0) for m in (ACTUATOR_MEDIA_TYPE, "application/*", "*/*"))
    return q > 0.0 and q >= rival
