"""Prometheus and Alertmanager for the demo: binaries, generated configs, start-up.

Everything listens on 127.0.0.1 only; Alertmanager's cluster port is turned off
(it would otherwise listen on every interface).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crm_observability import conventions as names
from crm_observability.demo.supervisor import Child, Supervisor, free_port
from crm_observability.generators.render import render_yaml
from crm_observability.slo.durations import format_duration, parse_duration

PROMETHEUS = "prometheus"
ALERTMANAGER = ("prometheus-alertmanager", "alertmanager")  # Debian name first
INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager"
RETENTION = "3650d"  # backfilled history may be far older than now


class MissingBinaryError(Exception):
    """A required server binary is not installed; the message says how to install it."""


def find_binary(*candidates: str) -> str:
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    raise MissingBinaryError(f"{candidates[0]} is not installed; install it with: {INSTALL_HINT}")


def prometheus_config(
    targets: Mapping[str, Sequence[str]],
    *,
    rule_files: Sequence[str] = (),
    alertmanager: str | None = None,
    interval: str = "15s",
) -> dict[str, Any]:
    """A Prometheus config scraping ``targets`` (job -> host:ports) every ``interval``."""
    config: dict[str, Any] = {
        # scrape_timeout may not exceed the interval (Prometheus refuses the config).
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "scrape_timeout": format_duration(min(parse_duration(interval), 10))},
        "rule_files": list(rule_files),
        "scrape_configs": [
            # honor_labels: the services' own service/application labels win, as in
            # deploy/prometheus/ (one job for the four services).
            {"job_name": job, "metrics_path": names.METRICS_PATH, "honor_labels": True,
             "static_configs": [{"targets": list(hosts)}]}
            for job, hosts in targets.items()
        ],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def alertmanager_config(webhook_url: str, *, group_wait: str = "5s",
                        group_interval: str = "10s") -> dict[str, Any]:
    """Every alert to one webhook, grouped per alert name and service."""
    return {
        "route": {"receiver": "demo", "group_by": [names.LABEL_ALERTNAME, names.LABEL_SERVICE],
                  "group_wait": group_wait, "group_interval": group_interval,
                  "repeat_interval": "1h"},
        "receivers": [{"name": "demo", "webhook_configs": [
            {"url": webhook_url, "send_resolved": True}]}],
    }


def start_prometheus(supervisor: Supervisor, config: Mapping[str, Any], work_dir: Path,
                     *, binary: str | None = None, port: int | None = None,
                     name: str = "prometheus") -> tuple[Child, str]:
    """Write ``config`` and start Prometheus on it; returns the child and its base URL."""
    binary = binary or find_binary(PROMETHEUS)
    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / "prometheus.yml"
    config_path.write_text(render_yaml(dict(config)), encoding="utf-8")
    data = work_dir / "data"
    child = supervisor.start(name, [
        binary, f"--config.file={config_path}", f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}", f"--storage.tsdb.retention.time={RETENTION}",
        "--web.enable-lifecycle", "--enable-feature=exemplar-storage"])
    url = f"http://127.0.0.1:{port}"
    supervisor.wait_ready(child, f"{url}/-/ready", timeout_s=60)
    return child, url


def start_alertmanager(supervisor: Supervisor, config: Mapping[str, Any], work_dir: Path,
                       *, binary: str | None = None, port: int | None = None) -> tuple[Child, str]:
    binary = binary or find_binary(*ALERTMANAGER)
    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / "alertmanager.yml"
    config_path.write_text(render_yaml(dict(config)), encoding="utf-8")
    child = supervisor.start("alertmanager", [
        binary, f"--config.file={config_path}", f"--storage.path={work_dir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="])
    url = f"http://127.0.0.1:{port}"
    supervisor.wait_ready(child, f"{url}/-/ready", timeout_s=30)
    return child, url
