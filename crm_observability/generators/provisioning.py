"""Grafana provisioning: the datasources and the file provider that loads ``dashboards/``.

The Prometheus datasource sets ``timeInterval`` to the scrape interval (so
``$__rate_interval`` always spans four scrapes) and links exemplars' ``trace_id``
to the Jaeger datasource, which is what turns latency exemplars into trace links.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.render import render_yaml

DATASOURCES_FILE = f"{names.GRAFANA_PROVISIONING_DIR}/datasources/crm-observability.yml"
DASHBOARD_PROVIDER_FILE = f"{names.GRAFANA_PROVISIONING_DIR}/dashboards/crm-observability.yml"
_HEADER = "source: crm_observability/generators/provisioning.py (crm-obs generate)"


@dataclass(frozen=True, slots=True)
class GrafanaProvisioning:
    """Addresses as seen from the Grafana container (docker compose service names)."""

    prometheus_url: str = "http://prometheus:9090"
    prometheus_uid: str = "prometheus"
    prometheus_version: str = "2.42.0"
    scrape_interval: str = "15s"  # design document: Prometheus global scrape_interval
    jaeger_url: str = "http://jaeger:16686"
    jaeger_uid: str = "jaeger"
    alertmanager_url: str = "http://alertmanager:9093"
    alertmanager_uid: str = "alertmanager"
    dashboards_path: str = "/var/lib/grafana/dashboards"
    folder: str = "CRM"


def datasources(config: GrafanaProvisioning | None = None) -> dict[str, Any]:
    c = config or GrafanaProvisioning()
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus", "type": "prometheus", "uid": c.prometheus_uid,
                "access": "proxy", "url": c.prometheus_url, "isDefault": True,
                "editable": False,
                "jsonData": {
                    "timeInterval": c.scrape_interval,
                    "httpMethod": "POST",
                    "prometheusType": "Prometheus",
                    "prometheusVersion": c.prometheus_version,
                    "exemplarTraceIdDestinations": [
                        {"name": names.EXEMPLAR_TRACE_ID, "datasourceUid": c.jaeger_uid},
                    ],
                },
            },
            {
                "name": "Jaeger", "type": "jaeger", "uid": c.jaeger_uid, "access": "proxy",
                "url": c.jaeger_url, "editable": False,
            },
            {
                "name": "Alertmanager", "type": "alertmanager", "uid": c.alertmanager_uid,
                "access": "proxy", "url": c.alertmanager_url, "editable": False,
                "jsonData": {"implementation": "prometheus",
                             "handleGrafanaManagedAlerts": False},
            },
        ],
    }


def dashboard_provider(config: GrafanaProvisioning | None = None) -> dict[str, Any]:
    c = config or GrafanaProvisioning()
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "crm-observability", "orgId": 1, "folder": c.folder, "type": "file",
                # Generated dashboards: edits in the UI would be lost, so forbid them.
                "disableDeletion": True, "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": c.dashboards_path, "foldersFromFilesStructure": False},
            },
        ],
    }


def provisioning_files(config: GrafanaProvisioning | None = None) -> dict[str, str]:
    """Repository path -> YAML text of both provisioning files."""
    return {
        DATASOURCES_FILE: render_yaml(datasources(config), header=_HEADER),
        DASHBOARD_PROVIDER_FILE: render_yaml(dashboard_provider(config), header=_HEADER),
    }
