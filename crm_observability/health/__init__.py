"""Actuator-style health: indicators, groups (liveness/readiness/startup) and the endpoint.

``HealthRegistry`` holds the indicators, runs them concurrently with timeouts,
caches results briefly, exports them as metrics and serves every health path as
an ASGI app (Actuator JSON, or ``application/health+json`` on request).
"""

from __future__ import annotations

from crm_observability.health.indicators import (
    CallableHealthIndicator,
    DiskSpaceHealthIndicator,
    HttpHealthIndicator,
    RedisHealthIndicator,
    SqlAlchemyHealthIndicator,
)
from crm_observability.health.model import Health, HealthIndicator, Status
from crm_observability.health.registry import CheckResult, GroupResult, HealthRegistry

__all__ = [
    "CallableHealthIndicator",
    "CheckResult",
    "DiskSpaceHealthIndicator",
    "GroupResult",
    "Health",
    "HealthIndicator",
    "HealthRegistry",
    "HttpHealthIndicator",
    "RedisHealthIndicator",
    "SqlAlchemyHealthIndicator",
    "Status",
]
