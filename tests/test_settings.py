from __future__ import annotations

import dataclasses

import pytest

from crm_observability import Settings, SettingsError


@pytest.mark.parametrize(
    ("env", "level", "ratio", "fmt"),
    [
        ("development", "DEBUG", 1.0, "console"),
        ("testing", "INFO", 0.1, "json"),
        ("staging", "INFO", 0.05, "json"),
        ("production", "WARNING", 0.01, "json"),
    ],
)
def test_profiles_follow_the_design_document(env: str, level: str, ratio: float, fmt: str) -> None:
    s = Settings.for_profile(env)
    got = (s.environment, s.log_level, s.trace_sample_ratio, s.log_format)
    assert got == (env, level, ratio, fmt)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().service_name = "x"  # type: ignore[misc]


def test_env_overrides_with_precedence() -> None:
    env = {
        "CRM_OBS_ENVIRONMENT": "production",
        "OTEL_SERVICE_NAME": "from-otel",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "OTEL_TRACES_SAMPLER_ARG": "0.5",
        "CRM_OBS_LOG_LEVEL": "ERROR",
        "CRM_OBS_ACCESS_LOG": "false",
        "CRM_OBS_SERIES_LIMIT": "10",
        "CRM_OBS_LOGGER_LEVELS": "sqlalchemy.engine=WARNING, uvicorn=INFO",
        "CRM_OBS_EXCLUDED_PATHS": "/a,/b*",
        "CRM_OBS_HTTP_BUCKETS": "0.1,1,10",
    }
    s = Settings.from_env(env)
    assert s.environment == "production"
    assert s.service_name == "from-otel"
    assert s.otlp_endpoint == "http://127.0.0.1:4318"
    assert s.trace_sample_ratio == 0.5
    assert s.log_level == "ERROR"
    assert s.access_log is False
    assert s.series_limit == 10
    assert s.logger_levels == {"sqlalchemy.engine": "WARNING", "uvicorn": "INFO"}
    assert s.excluded_paths == ("/a", "/b*")
    assert s.http_buckets == (0.1, 1.0, 10.0)
    # CRM_OBS_* beats OTEL_*, code beats both
    env["CRM_OBS_SERVICE_NAME"] = "from-crm"
    assert Settings.from_env(env).service_name == "from-crm"
    assert Settings.from_env(env, service_name="from-code").service_name == "from-code"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"CRM_OBS_SERIES_LIMIT": "lots"}, "CRM_OBS_SERIES_LIMIT"),
        ({"CRM_OBS_ACCESS_LOG": "maybe"}, "CRM_OBS_ACCESS_LOG"),
        ({"OTEL_TRACES_SAMPLER_ARG": "2"}, "trace_sample_ratio"),
        ({"CRM_OBS_ENVIRONMENT": "prod"}, "environment"),
        ({"CRM_OBS_LOG_FORMAT": "xml"}, "log_format"),
        ({"CRM_OBS_HEALTH_SHOW_DETAILS": "sometimes"}, "health_show_details"),
        ({"CRM_OBS_SERIES_LIMIT": "0"}, "series_limit"),
        ({"CRM_OBS_SERVICE_NAME": ""}, "service_name"),
        ({"CRM_OBS_LOGGER_LEVELS": "novalue"}, "CRM_OBS_LOGGER_LEVELS"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        Settings.from_env(env)


def test_replace_validates_again() -> None:
    with pytest.raises(SettingsError):
        Settings().replace(trace_sample_ratio=-1)
    assert Settings().replace(service_name="x").service_name == "x"


def test_empty_otlp_endpoint_means_no_export() -> None:
    assert Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}).otlp_endpoint is None
    assert Settings.from_env({"CRM_OBS_OTLP_ENDPOINT": ""}).otlp_endpoint is None
