"""The deployment model: the four services and the four environments, as frozen data.

Numbers are the design document's ("Environment Configurations", "Resource
Allocation Matrix", "HPA Configuration"), with its mistakes left out: the
document's rate-limit annotation does not exist in ingress-nginx (``limit-rpm``
does), and its allocation matrix has no leads/accounts rows (they use the
contacts sizes: the same kind of CRUD service).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from crm_observability.settings import ENVIRONMENTS

SERVICE_PORT = 8080  # container port of every service (the document's)
LOCAL_PORTS: Mapping[str, int] = {  # `crm-services run` on loopback
    "contacts": 8081, "deals": 8082, "leads": 8083, "accounts": 8084,
}
APPLICATIONS = tuple(LOCAL_PORTS)
IMAGE = "ghcr.io/crm-platform/crm-services"
Strategy = Literal["rolling", "blue-green", "canary"]
Size = Literal["small", "medium", "large"]


@dataclass(frozen=True, slots=True)
class Resources:
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str

    def as_k8s(self) -> dict[str, dict[str, str]]:
        return {"requests": {"cpu": self.cpu_request, "memory": self.memory_request},
                "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit}}


# Resource Allocation Matrix: service -> size -> (replicas, resources).
_CONTACTS_SIZES: Mapping[str, tuple[int, Resources]] = {
    "small": (2, Resources("250m", "500m", "512Mi", "1Gi")),
    "medium": (5, Resources("500m", "1000m", "1Gi", "2Gi")),
    "large": (10, Resources("1000m", "2000m", "2Gi", "4Gi")),
}
ALLOCATION: Mapping[str, Mapping[str, tuple[int, Resources]]] = {
    "contacts": _CONTACTS_SIZES,
    "deals": {
        "small": (3, Resources("500m", "1000m", "1Gi", "2Gi")),
        "medium": (8, Resources("1000m", "2000m", "2Gi", "4Gi")),
        "large": (20, Resources("2000m", "4000m", "4Gi", "8Gi")),
    },
    "leads": _CONTACTS_SIZES,
    "accounts": _CONTACTS_SIZES,
}


@dataclass(frozen=True, slots=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    cpu_utilization: int
    memory_utilization: int
    requests_per_second: int = 100  # per pod (the document's contacts HPA)


@dataclass(frozen=True, slots=True)
class Environment:
    """One column of the document's environment table."""

    name: str
    namespace: str
    replicas: int
    log_level: str
    trace_sample_ratio: float
    db_pool_size: int
    db_name: str
    db_host: str
    ssl_mode: str
    host: str  # the Ingress host
    redis_url: str
    size: Size | None  # allocation-matrix size; None: the environment's own resources
    resources: Resources  # used when size is None
    autoscaling: Autoscaling | None = None
    rate_limit_rpm: int | None = None
    rate_limit_burst: int | None = None
    cors_origins: tuple[str, ...] = ()
    max_replicas: Mapping[str, int] = field(default_factory=dict)  # per-service HPA ceilings

    @property
    def initial_replicas(self) -> int:
        return self.autoscaling.min_replicas if self.autoscaling else self.replicas

    def resources_for(self, app: str) -> Resources:
        return ALLOCATION[app][self.size][1] if self.size else self.resources


ENVIRONMENT_TABLE: Mapping[str, Environment] = {
    "development": Environment(
        "development", "crm-dev", 1, "DEBUG", 1.0, 5, "crm_dev", "postgres-dev.crm-platform.com",
        "disable", "dev.crm-platform.com", "redis://redis-dev.crm-platform.com:6379/0", None,
        Resources("100m", "500m", "256Mi", "512Mi"),
        cors_origins=("http://localhost:3000", "http://localhost:8080")),
    "testing": Environment(
        "testing", "crm-test", 2, "INFO", 0.1, 10, "crm_test", "postgres-test.crm-platform.com",
        "require", "test.crm-platform.com", "redis://redis-test.crm-platform.com:6379/1", None,
        Resources("250m", "1000m", "512Mi", "1Gi"),
        cors_origins=("https://test.crm-platform.com",)),
    "staging": Environment(
        "staging", "crm-staging", 3, "INFO", 0.05, 20, "crm_staging",
        "postgres-staging.crm-platform.com", "require", "staging.crm-platform.com",
        "redis://redis-staging-1.crm-platform.com:6379/0", "medium",
        Resources("500m", "1500m", "1Gi", "2Gi"),
        autoscaling=Autoscaling(3, 10, 70, 80), rate_limit_rpm=1000,
        cors_origins=("https://staging.crm-platform.com",)),
    "production": Environment(
        "production", "crm-prod", 5, "WARNING", 0.01, 50, "crm_production",
        "postgres-prod.crm-platform.com", "require", "api.crm-platform.com",
        "redis://redis-prod-1.crm-platform.com:6379/0", "large",
        Resources("1000m", "2000m", "2Gi", "4Gi"),
        autoscaling=Autoscaling(5, 50, 60, 70), rate_limit_rpm=5000, rate_limit_burst=10000,
        cors_origins=("https://app.crm-platform.com", "https://api.crm-platform.com"),
        max_replicas={"deals": 100}),  # the document's "Deals Service HPA (High Traffic)"
}
assert tuple(ENVIRONMENT_TABLE) == ENVIRONMENTS  # one row per Settings environment


@dataclass(frozen=True, slots=True)
class Application:
    """One reference service as deployed."""

    app: str  # contacts, deals, leads, accounts
    strategy: Strategy

    @property
    def name(self) -> str:
        return f"{self.app}-service"


# Deployment Strategies: blue/green for contacts, canary for leads, rolling for the rest.
APPS: tuple[Application, ...] = (
    Application("contacts", "blue-green"),
    Application("deals", "rolling"),
    Application("leads", "canary"),
    Application("accounts", "rolling"),
)
CANARY_STEPS: tuple[tuple[int, str], ...] = ((10, "2m"), (20, "5m"), (50, "10m"))
BACKUP_SCHEDULE = "0 */6 * * *"  # DR section: every 6 hours (RPO 1 h needs WAL shipping too)
BACKUP_RETENTION_DAYS = 30
