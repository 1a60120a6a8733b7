"""Prometheus and Alertmanager configurations: docker compose and local (``crm-obs demo``).

Both Prometheus configs load the same generated rules.  The local one names them
relative to its own directory (``../../slo/rules``), which Prometheus resolves
against the config file, so it works from any working directory of a checkout.
Alerts route by ``severity``: ``page`` (and the platform's ``critical``) to the
paging receiver, ``ticket`` (and ``warning``) to the ticket receiver; both are
webhooks, locally on 127.0.0.1:9095 where the demo listens.
"""

from __future__ import annotations

from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.deploy.model import APPS, LOCAL_PORTS, SERVICE_PORT

PROMETHEUS_COMPOSE = "deploy/prometheus/prometheus.yml"
PROMETHEUS_LOCAL = "deploy/prometheus/prometheus.local.yml"
ALERTMANAGER_LOCAL = "deploy/alertmanager/alertmanager.yml"
ALERTMANAGER_COMPOSE = "deploy/alertmanager/alertmanager.compose.yml"
SCRAPE_INTERVAL = "15s"  # document: global scrape/evaluation interval
SERVICE_SCRAPE_INTERVAL = "10s"  # document: crm-services job
SERVICES_JOB = "crm-services"
ALERTMANAGER_PORT = 9093
WEBHOOK_PORT = 9095  # the demo's alert listener
PAGE_RECEIVER = "page"
TICKET_RECEIVER = "ticket"
PAGE_SEVERITIES = ("page", names.SEVERITY_CRITICAL)
TICKET_SEVERITIES = ("ticket", names.SEVERITY_WARNING)
# Rule globs as seen from deploy/prometheus/ (local) and inside the container (compose).
LOCAL_RULE_FILES = ("../../slo/rules/*.rules.yml", f"../../{names.ALERTS_DIR}/*.rules.yml")
CONTAINER_RULES_DIR = "/etc/prometheus/rules"
COMPOSE_RULE_FILES = (f"{CONTAINER_RULES_DIR}/slo/*.rules.yml",
                      f"{CONTAINER_RULES_DIR}/alerts/*.rules.yml")


def _services_job(targets: list[str]) -> dict[str, Any]:
    return {
        "job_name": SERVICES_JOB,
        "scrape_interval": SERVICE_SCRAPE_INTERVAL,
        "metrics_path": names.METRICS_PATH,
        # The services label their own series (application, service, environment).
        "honor_labels": True,
        "static_configs": [{"targets": targets}],
    }


def prometheus_config(*, targets: list[str], rule_files: tuple[str, ...], alertmanager: str,
                      extra_jobs: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": list(rule_files),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [_services_job(targets), *extra_jobs],
    }


def local_targets() -> list[str]:
    return [f"127.0.0.1:{LOCAL_PORTS[a.app]}" for a in APPS]


def compose_prometheus() -> dict[str, Any]:
    def job(name: str, target: str, path: str = names.METRICS_PATH) -> dict[str, Any]:
        return {"job_name": name, "metrics_path": path,
                "static_configs": [{"targets": [target]}]}

    return prometheus_config(
        targets=[f"{a.name}:{SERVICE_PORT}" for a in APPS],
        rule_files=COMPOSE_RULE_FILES,
        alertmanager=f"alertmanager:{ALERTMANAGER_PORT}",
        extra_jobs=(job("prometheus", "localhost:9090"),
                    job("alertmanager", f"alertmanager:{ALERTMANAGER_PORT}"),
                    job("otel-collector", "otel-collector:8888"),
                    job("loki", "loki:3100")),
    )


def local_prometheus() -> dict[str, Any]:
    return prometheus_config(targets=local_targets(), rule_files=LOCAL_RULE_FILES,
                             alertmanager=f"127.0.0.1:{ALERTMANAGER_PORT}")


def alertmanager_config(webhook_base: str) -> dict[str, Any]:
    """Routes by severity to two webhook receivers at ``{webhook_base}/page`` and ``/ticket``."""

    def receiver(name: str) -> dict[str, Any]:
        return {"name": name, "webhook_configs": [
            {"url": f"{webhook_base}/{name}", "send_resolved": True}]}

    def route(receiver_name: str, severities: tuple[str, ...], wait: str,
              repeat: str) -> dict[str, Any]:
        return {"receiver": receiver_name,
                "matchers": [f'{names.LABEL_SEVERITY}=~"{"|".join(severities)}"'],
                "group_wait": wait, "repeat_interval": repeat}

    group_by = [names.LABEL_ALERTNAME, names.LABEL_SERVICE, names.LABEL_SLO]
    return {
        "route": {
            "receiver": TICKET_RECEIVER,  # anything unlabelled still reaches a human, slowly
            "group_by": group_by,
            "group_wait": "30s", "group_interval": "5m", "repeat_interval": "12h",
            "routes": [route(PAGE_RECEIVER, PAGE_SEVERITIES, "10s", "1h"),
                       route(TICKET_RECEIVER, TICKET_SEVERITIES, "1m", "12h")],
        },
        # A page for an SLO silences its own ticket (same alert family, same service).
        "inhibit_rules": [{
            "source_matchers": [f'{names.LABEL_SEVERITY}="page"'],
            "target_matchers": [f'{names.LABEL_SEVERITY}="ticket"'],
            "equal": [names.LABEL_SERVICE, names.LABEL_SLO],
        }],
        "receivers": [receiver(PAGE_RECEIVER), receiver(TICKET_RECEIVER)],
    }


def local_alertmanager() -> dict[str, Any]:
    return alertmanager_config(f"http://127.0.0.1:{WEBHOOK_PORT}")


def compose_alertmanager() -> dict[str, Any]:
    # In compose the listener runs on the host (the demo, or your own receiver).
    return alertmanager_config(f"http://host.docker.internal:{WEBHOOK_PORT}")
