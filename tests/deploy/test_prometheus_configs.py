"""The committed Prometheus and Alertmanager configs pass promtool and amtool, route
pages and tickets, and load exactly the generated rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from crm_observability.generators.deploy import (
    DeployConfigError,
    alertmanager_local,
    prometheus_local,
)
from crm_observability.generators.deploy.local import rule_files
from tests.deploy.conftest import ROOT, require_tool

LOCAL = ROOT / "deploy/prometheus/prometheus.local.yml"
COMPOSE = ROOT / "deploy/prometheus/prometheus.yml"
AM_LOCAL = ROOT / "deploy/alertmanager/alertmanager.yml"
AM_COMPOSE = ROOT / "deploy/alertmanager/alertmanager.compose.yml"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)


def _generated_rule_files() -> list[Path]:
    return sorted([*ROOT.glob("slo/rules/*.rules.yml"), *ROOT.glob("alerts/*.rules.yml")])


def test_local_config_passes_promtool_with_every_generated_rule_file() -> None:
    promtool = require_tool("promtool")
    out = _run(promtool, "check", "config", str(LOCAL))
    assert out.returncode == 0, out.stdout + out.stderr
    checked = {line.split("Checking ", 1)[1].strip() for line in out.stdout.splitlines()
               if line.startswith("Checking ") and "rules" in line}
    assert len(checked) == len(_generated_rule_files()) >= 5


def test_local_config_names_the_rules_relative_to_itself() -> None:
    config = prometheus_local(ROOT)
    assert rule_files(config) == [p.resolve() for p in _generated_rule_files()]
    job = config["scrape_configs"][0]
    assert job["static_configs"][0]["targets"] == [
        "127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083", "127.0.0.1:8084"]
    assert job["metrics_path"] == "/metrics" and job["honor_labels"] is True
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:9093"]


def test_compose_config_passes_promtool_with_its_mounted_rules(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    compose = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yml").read_text())
    mounts = {}
    for volume in compose["services"]["prometheus"]["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[target] = (ROOT / "deploy/compose" / source).resolve()
    config = yaml.safe_load(COMPOSE.read_text())
    assert mounts["/etc/prometheus/prometheus.yml"] == COMPOSE
    # Map each in-container rule glob to the directory compose mounts there.
    remapped = []
    for pattern in config["rule_files"]:
        directory, glob = pattern.rsplit("/", 1)
        remapped.append(f"{mounts[directory]}/{glob}")
    config["rule_files"] = remapped
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    out = _run(promtool, "check", "config", str(copy))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(_generated_rule_files())} rule files found" in out.stdout
    targets = config["scrape_configs"][0]["static_configs"][0]["targets"]
    assert {t.split(":")[0] for t in targets} <= set(compose["services"])


@pytest.mark.parametrize("path", [AM_LOCAL, AM_COMPOSE])
def test_alertmanager_configs_pass_amtool(path: Path) -> None:
    amtool = require_tool("amtool")
    out = _run(amtool, "check-config", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 receivers" in out.stdout


@pytest.mark.parametrize("labels, receiver", [
    (["severity=page"], "page"),
    (["severity=page", "service=contacts-service", "slo=availability"], "page"),
    (["severity=critical", "alertname=ServiceDown"], "page"),
    (["severity=ticket"], "ticket"),
    (["severity=warning"], "ticket"),
    (["alertname=Unlabelled"], "ticket"),
])
def test_routes_send_pages_to_the_paging_receiver(labels: list[str], receiver: str) -> None:
    amtool = require_tool("amtool")
    out = _run(amtool, "config", "routes", "test", f"--config.file={AM_LOCAL}", *labels)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [receiver]


def test_webhooks_point_at_the_demo_listener() -> None:
    config = yaml.safe_load(AM_LOCAL.read_text())
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"]}
    assert urls == {"page": "http://127.0.0.1:9095/page", "ticket": "http://127.0.0.1:9095/ticket"}
    moved = alertmanager_local(ROOT, webhook_base="http://127.0.0.1:1234/")
    assert [r["webhook_configs"][0]["url"] for r in moved["receivers"]] == [
        "http://127.0.0.1:1234/page", "http://127.0.0.1:1234/ticket"]
    assert moved["route"] == config["route"]


def test_local_loaders_rewrite_only_targets_and_alertmanager() -> None:
    original = yaml.safe_load(LOCAL.read_text())
    config = prometheus_local(ROOT, targets=["127.0.0.1:1"], alertmanager="127.0.0.1:2")
    assert config["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:1"]}]
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [
        {"targets": ["127.0.0.1:2"]}]
    assert config["global"] == original["global"]
    assert len(config["rule_files"]) == len(original["rule_files"])


@pytest.mark.parametrize("text, reason", [
    (None, "not found; run crm-obs generate"),
    ("a: [", "not valid YAML"),
    ("- 1", "expected a mapping"),
    ("rule_files: x", "rule_files: expected a list"),
    ("rule_files: []\nscrape_configs: []", "expected one job 'crm-services'"),
])
def test_broken_local_prometheus_config_is_one_clear_line(tmp_path: Path, text: str | None,
                                                          reason: str) -> None:
    path = tmp_path / "deploy/prometheus/prometheus.local.yml"
    if text is not None:
        path.parent.mkdir(parents=True)
        path.write_text(text)
    with pytest.raises(DeployConfigError) as info:
        prometheus_local(tmp_path)
    assert str(info.value).startswith(f"{path}: ") and reason in str(info.value)


def test_broken_local_alertmanager_config_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "deploy/alertmanager/alertmanager.yml"
    path.parent.mkdir(parents=True)
    path.write_text("route: {}\n")
    with pytest.raises(DeployConfigError, match="receivers: expected a list"):
        alertmanager_local(tmp_path)
