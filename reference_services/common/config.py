"""Service configuration: where the database, cache, peers and secrets are.

The observability side lives in :class:`crm_observability.Settings`; this is
everything else a reference service needs, read from the environment once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

# A development secret, long enough for HS256 (PyJWT warns under 32 bytes).
DEV_JWT_SECRET = "crm-dev-secret-do-not-use-in-production-0123456789"

DEFAULT_PORTS: Mapping[str, int] = {
    "contacts": 8081, "deals": 8082, "leads": 8083, "accounts": 8084,
}


class ConfigError(ValueError):
    """An environment variable has an unusable value; the message names it."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything but observability; build with :meth:`from_env` or directly in tests."""

    service: str = "contacts"
    environment: str = "development"
    database_url: str = ""  # "": a SQLite file crm-<service>.db in the current directory
    redis_url: str | None = None  # None: no read cache
    jwt_secret: str = DEV_JWT_SECRET
    jwt_ttl_s: int = 24 * 3600  # design document: development tokens live 24 h
    contacts_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['contacts']}"
    accounts_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['accounts']}"
    downstream_timeout_s: float = 2.0
    max_body_bytes: int = 64 * 1024
    cache_ttl_s: int = 300
    db_pool_size: int = 5  # design document: development pool_size 5

    def __post_init__(self) -> None:
        if self.service not in DEFAULT_PORTS:
            raise ConfigError(
                f"service: {self.service!r} is not one of {', '.join(DEFAULT_PORTS)}")
        if self.environment == "production" and self.jwt_secret == DEV_JWT_SECRET:
            raise ConfigError(
                "CRM_JWT_SECRET: must be set in production (the dev secret is public)")
        for name in ("max_body_bytes", "db_pool_size", "cache_ttl_s"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: {getattr(self, name)} must be at least 1")
        if len(self.jwt_secret.encode()) < 32:
            raise ConfigError("CRM_JWT_SECRET: must be at least 32 bytes for HS256")

    @property
    def url(self) -> str:
        """The SQLAlchemy URL actually used."""
        return self.database_url or f"sqlite:///crm-{self.service}.db"

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None,
                 **overrides: Any) -> ServiceConfig:
        env = os.environ if env is None else env
        values: dict[str, Any] = {"service": service}
        text = {
            "environment": "CRM_OBS_ENVIRONMENT", "database_url": "DATABASE_URL",
            "jwt_secret": "CRM_JWT_SECRET", "contacts_url": "CONTACTS_SERVICE_URL",
            "accounts_url": "ACCOUNTS_SERVICE_URL",
        }
        for name, var in text.items():
            if env.get(var):
                values[name] = env[var]
        if env.get("REDIS_URL"):
            values["redis_url"] = env["REDIS_URL"]
        # The page-size bound is not here: it is static, so the OpenAPI document states it.
        numbers = {"max_body_bytes": "CRM_MAX_BODY_BYTES", "cache_ttl_s": "CRM_CACHE_TTL_S",
                   "db_pool_size": "CRM_DB_POOL_SIZE"}
        for name, var in numbers.items():
            if env.get(var):
                try:
                    values[name] = int(env[var])
                except ValueError:
                    raise ConfigError(f"{var}: {env[var]!r} is not an integer") from None
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> ServiceConfig:
        return replace(self, **changes)
