"""The compose stack: valid against the Compose specification, every mounted file exists,
the services' environment is read correctly by the library and the services."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_observability import Settings
from reference_services.common.config import DEFAULT_PORTS, ServiceConfig
from tests.deploy.conftest import ROOT, missing

COMPOSE_DIR = ROOT / "deploy/compose"
COMPOSE = COMPOSE_DIR / "docker-compose.yml"
APPS = ("contacts", "deals", "leads", "accounts")


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        missing("check-jsonschema is not installed")
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                           str(path)], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def _interpolate(value: str) -> str:
    # Compose's ${VAR:-default} with nothing set: the default.
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_file_matches_the_compose_specification(tmp_path: Path) -> None:
    out = check_jsonschema("vendor.compose-spec", COMPOSE)
    assert out.returncode == 0, out.stdout + out.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    depends_on:", "    depends_onn:", 1))
    assert check_jsonschema("vendor.compose-spec", broken).returncode != 0


def test_the_full_stack_is_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {*(f"{a}-service" for a in APPS), "postgres", "redis", "prometheus",
                             "alertmanager", "grafana", "otel-collector", "jaeger", "loki",
                             "alloy"}
    for name, service in services.items():
        for dependency in service.get("depends_on", ()):
            assert dependency in services, (name, dependency)


def test_every_bind_mount_and_the_build_exist(compose: dict[str, Any]) -> None:
    mounts = 0
    for service in compose["services"].values():
        for volume in service.get("volumes", ()):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), source
                mounts += 1
        if "build" in service:
            context = (COMPOSE_DIR / service["build"]["context"]).resolve()
            assert context == ROOT
            assert (context / service["build"]["dockerfile"]).is_file()
    assert mounts >= 9


def test_grafana_gets_the_generated_dashboards_where_the_provider_reads(
        compose: dict[str, Any]) -> None:
    volumes = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    provider_file = ROOT / "dashboards/provisioning/dashboards/crm-observability.yml"
    provider = yaml.safe_load(provider_file.read_text())["providers"][0]
    mounted = {target: (COMPOSE_DIR / source).resolve() for source, target in volumes.items()}
    dashboards_dir = mounted[provider["options"]["path"]]
    assert dashboards_dir == (ROOT / "dashboards")
    assert len(list(dashboards_dir.glob("*.json"))) >= 5


@pytest.mark.parametrize("app", APPS)
def test_service_environment_is_read_by_library_and_service(compose: dict[str, Any],
                                                            app: str) -> None:
    service = compose["services"][f"{app}-service"]
    env = {k: _interpolate(str(v)) for k, v in service["environment"].items()}
    settings = Settings.from_env(env)
    assert settings.environment == "development" and settings.log_format == "json"
    assert 2.0 in settings.http_buckets  # the p99 SLO threshold
    assert settings.otlp_endpoint == "http://otel-collector:4318"
    config = ServiceConfig.from_env(app, env)
    database = config.url.rsplit("/", 1)[1]
    assert f"CREATE DATABASE {database};" in (COMPOSE_DIR / "postgres-init.sql").read_text()
    assert config.redis_url == "redis://redis:6379/0"
    # Published on the same host ports as `crm-services run`, so prometheus.local.yml fits.
    assert service["ports"] == [f"{DEFAULT_PORTS[app]}:8080"]
    assert service["read_only"] is True
