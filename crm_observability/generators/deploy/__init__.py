"""Generated deployment files under ``deploy/``: Prometheus, Alertmanager, compose,
Kubernetes manifests per environment, collector and log-shipping configs, CI.

``deploy_files(root)`` is the producer ``crm-obs generate`` runs; the
Dockerfile and its ignore file are written by hand (nothing to derive).
"""

from __future__ import annotations

from pathlib import Path

from crm_observability.generators.deploy import compose as compose_mod
from crm_observability.generators.deploy import prometheus, telemetry
from crm_observability.generators.deploy.analysis import AnalysisError, success_query
from crm_observability.generators.deploy.ci import CI_FILE, workflow
from crm_observability.generators.deploy.k8s import K8S_DIR, k8s_files, render_documents
from crm_observability.generators.deploy.local import (
    DeployConfigError,
    alertmanager_local,
    prometheus_local,
)
from crm_observability.generators.deploy.model import (
    APPS,
    ENVIRONMENT_TABLE,
    Application,
    Environment,
)
from crm_observability.generators.render import render_yaml

_HEADER = "source: crm_observability/generators/deploy (crm-obs generate)"
# Glob patterns of every generated deploy file (stale matches are deleted by generate).
DEPLOY_OWNS = (
    "deploy/prometheus/*.yml", "deploy/alertmanager/*.yml", "deploy/compose/*",
    f"{K8S_DIR}/*.yaml", f"{K8S_DIR}/*/*.yaml", "deploy/otel-collector/*.yaml",
    "deploy/logging/*/*", "deploy/grafana/datasources/*.yml", "deploy/ci/*.yml",
)


def deploy_files(root: Path) -> dict[str, str]:
    """Repository path -> text of every generated deploy file."""
    from crm_observability.generators.artifacts import load_slo_specs
    from crm_observability.generators.dashboards import all_dashboards

    specs = load_slo_specs(root)
    out = {
        prometheus.PROMETHEUS_COMPOSE: render_yaml(prometheus.compose_prometheus(), _HEADER),
        prometheus.PROMETHEUS_LOCAL: render_yaml(
            prometheus.local_prometheus(),
            _HEADER + "\nlocal: crm-services run (127.0.0.1:8081-8084); rules relative to "
                      "this file"),
        prometheus.ALERTMANAGER_LOCAL: render_yaml(
            prometheus.local_alertmanager(),
            _HEADER + f"\nwebhooks: 127.0.0.1:{prometheus.WEBHOOK_PORT}/page and /ticket"),
        prometheus.ALERTMANAGER_COMPOSE: render_yaml(prometheus.compose_alertmanager(), _HEADER),
        compose_mod.COMPOSE_FILE: render_yaml(compose_mod.compose(specs), _HEADER),
        compose_mod.POSTGRES_INIT: compose_mod.postgres_init(),
        compose_mod.COLLECTOR_CONFIG: render_yaml(
            telemetry.collector_config("jaeger:4317"), _HEADER),
        compose_mod.ALLOY_CONFIG: telemetry.alloy_config("http://loki:3100"),
        compose_mod.LOKI_DATASOURCE: render_yaml(
            telemetry.loki_datasource("http://loki:3100"), _HEADER),
        compose_mod.LOGSTASH_PIPELINE: telemetry.logstash_pipeline(
            "http://crm-elasticsearch-es-http:9200"),
        compose_mod.FILEBEAT_CONFIG: render_yaml(
            telemetry.filebeat_config("logstash:5044"), _HEADER),
        CI_FILE: render_yaml(workflow(), _HEADER),
    }
    out.update(k8s_files(specs, all_dashboards(specs)))
    return dict(sorted(out.items()))


__all__ = [
    "APPS",
    "AnalysisError",
    "Application",
    "DEPLOY_OWNS",
    "DeployConfigError",
    "ENVIRONMENT_TABLE",
    "Environment",
    "alertmanager_local",
    "deploy_files",
    "prometheus_local",
    "render_documents",
    "success_query",
]
