"""Frozen settings with per-environment profiles and environment overrides.

Precedence, lowest first: profile defaults, ``OTEL_*`` standard variables,
``CRM_OBS_*`` variables, keyword overrides passed in code.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

from crm_observability import conventions as names

Environment = Literal["development", "testing", "staging", "production"]
LogFormat = Literal["console", "json", "ecs"]
ShowDetails = Literal["never", "when-authorized", "always"]

ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
ENV_PREFIX = "CRM_OBS_"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it."""


# Design document "Environment Configurations": log level and trace sampling.
_PROFILES: dict[str, dict[str, Any]] = {
    "development": {"log_level": "DEBUG", "trace_sample_ratio": 1.0, "log_format": "console"},
    "testing": {"log_level": "INFO", "trace_sample_ratio": 0.1, "log_format": "json"},
    "staging": {"log_level": "INFO", "trace_sample_ratio": 0.05, "log_format": "json"},
    "production": {"log_level": "WARNING", "trace_sample_ratio": 0.01, "log_format": "json"},
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``instrument()`` needs; build with :meth:`for_profile` or :meth:`from_env`."""

    service_name: str = "crm-service"
    service_version: str = "0.0.0"
    environment: Environment = "development"
    application: str = names.DEFAULT_APPLICATION
    # logging
    log_level: str = "DEBUG"
    log_format: LogFormat = "console"
    logger_levels: Mapping[str, str] = field(default_factory=dict)
    access_log: bool = True
    redact: bool = True
    # metrics
    metrics_enabled: bool = True
    metrics_path: str = names.METRICS_PATH
    series_limit: int = names.DEFAULT_SERIES_LIMIT
    http_buckets: tuple[float, ...] = names.HTTP_DURATION_BUCKETS
    # tracing
    tracing_enabled: bool = True
    trace_sample_ratio: float = 1.0
    otlp_endpoint: str | None = None  # None: spans are not exported
    otlp_timeout_s: float = 5.0
    span_queue_size: int = 8192  # ~0.9 KB a span; exported in halves (tracing.setup)
    # health
    health_show_details: ShowDetails = "when-authorized"
    health_timeout_s: float = 0.8
    health_cache_ttl_s: float = 1.0
    # shared by metrics, traces and access logs; whole-path match (prefix when ending in "*")
    excluded_paths: tuple[str, ...] = (
        names.METRICS_PATH, names.HEALTH_PATH, names.HEALTH_PATH + "/*",
        names.LIVEZ_PATH, names.READYZ_PATH,
    )
    request_id_header: str = names.REQUEST_ID_HEADER
    # gc.freeze() once the app has started: shorter full-collection pauses (docs/architecture.md)
    gc_freeze: bool = True

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise SettingsError(
                f"environment: {self.environment!r} is not one of {', '.join(ENVIRONMENTS)}"
            )
        if not 0.0 <= self.trace_sample_ratio <= 1.0:
            raise SettingsError(
                f"trace_sample_ratio: {self.trace_sample_ratio} is outside [0, 1]"
            )
        if self.log_format not in get_args(LogFormat):
            raise SettingsError(f"log_format: {self.log_format!r} is not console, json or ecs")
        if self.health_show_details not in get_args(ShowDetails):
            raise SettingsError(
                f"health_show_details: {self.health_show_details!r} is not never, "
                "when-authorized or always"
            )
        if self.series_limit < 1:
            raise SettingsError(f"series_limit: {self.series_limit} must be at least 1")
        if not self.service_name:
            raise SettingsError("service_name: must not be empty")

    @classmethod
    def for_profile(cls, environment: str = "development", **overrides: Any) -> Settings:
        """Profile defaults for ``environment``, then ``overrides`` (no environment variables)."""
        if environment not in _PROFILES:
            raise SettingsError(
                f"environment: {environment!r} is not one of {', '.join(ENVIRONMENTS)}"
            )
        values: dict[str, Any] = {"environment": environment, **_PROFILES[environment]}
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Profile chosen by ``CRM_OBS_ENVIRONMENT``, overridden by the environment, then code."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if "OTEL_SERVICE_NAME" in env:
            values["service_name"] = env["OTEL_SERVICE_NAME"]
        if "OTEL_EXPORTER_OTLP_ENDPOINT" in env:
            values["otlp_endpoint"] = env["OTEL_EXPORTER_OTLP_ENDPOINT"] or None
        if "OTEL_TRACES_SAMPLER_ARG" in env:
            values["trace_sample_ratio"] = _parse("trace_sample_ratio", float,
                                                  env["OTEL_TRACES_SAMPLER_ARG"],
                                                  "OTEL_TRACES_SAMPLER_ARG")
        types = {f.name: f for f in fields(cls)}
        for name, f in types.items():
            var = ENV_PREFIX + name.upper()
            if var in env:
                values[name] = _parse(name, _field_kind(f), env[var], var)
        values.update(overrides)
        environment = values.pop("environment", "development")
        return cls.for_profile(environment, **values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


def _field_kind(f: dataclasses.Field[Any]) -> Any:
    default = f.default if f.default is not dataclasses.MISSING else None
    if f.default_factory is not dataclasses.MISSING:
        return dict
    if isinstance(default, bool):
        return bool
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    if isinstance(default, tuple):
        return float if default and isinstance(default[0], float) else tuple
    return str


def _parse(name: str, kind: Any, raw: str, var: str) -> Any:
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true or false")
        if kind is int:
            return int(raw)
        if kind is float and name == "http_buckets":
            return tuple(float(x) for x in raw.split(",") if x.strip())
        if kind is float:
            return float(raw)
        if kind is tuple:
            return tuple(x.strip() for x in raw.split(",") if x.strip())
        if kind is dict:
            # "sqlalchemy.engine=WARNING,uvicorn=INFO"
            pairs = (item.split("=", 1) for item in raw.split(",") if item.strip())
            return {k.strip(): v.strip() for k, v in pairs}
        if name == "otlp_endpoint":
            return raw or None
        return raw
    except ValueError as exc:
        raise SettingsError(f"{var}: cannot use {raw!r} for {name}: {exc}") from None
