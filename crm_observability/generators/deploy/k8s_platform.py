"""Kubernetes resources shared by the four services: namespace, Ingress, NetworkPolicies,
the OTel Collector, and the database backup CronJob (pure builders, plain dicts)."""

from __future__ import annotations

from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.deploy.model import (
    APPS,
    BACKUP_RETENTION_DAYS,
    BACKUP_SCHEDULE,
    SERVICE_PORT,
    Environment,
)
from crm_observability.generators.deploy.telemetry import (
    COLLECTOR_HEALTH_PORT,
    COLLECTOR_METRICS_PORT,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    collector_config,
)
from crm_observability.generators.deploy.workloads import SECRET_NAME
from crm_observability.generators.render import render_yaml

COLLECTOR = "otel-collector"
COLLECTOR_IMAGE = "otel/opentelemetry-collector:0.104.0"
JAEGER_OTLP = "jaeger-collector.observability.svc:4317"
MONITORING_NAMESPACE = "monitoring"  # where Prometheus (and its operator) run
INGRESS_NAMESPACE = "ingress-nginx"
BACKUP_IMAGE = "postgres:16"


def _meta(name: str, env: Environment, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": env.namespace, "labels": {
        "app": name, "app.kubernetes.io/name": name, "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": names.DEFAULT_APPLICATION,
        "app.kubernetes.io/managed-by": "crm-obs", names.LABEL_ENVIRONMENT: env.name}}


def namespace(env: Environment) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": env.namespace, "labels": {names.LABEL_ENVIRONMENT: env.name,
                                          "pod-security.kubernetes.io/enforce": "restricted"}}}


def _backend(app_name: str, strategy: str) -> str:
    # Blue/green: users reach the active colour only; canary/rolling: every pod.
    return f"{app_name}-active" if strategy == "blue-green" else app_name


def ingress(env: Environment) -> dict[str, Any]:
    annotations = {
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/load-balance": "ewma",
        "cert-manager.io/cluster-issuer": "letsencrypt-prod",
        "nginx.ingress.kubernetes.io/enable-cors": "true",
        "nginx.ingress.kubernetes.io/cors-allow-origin": ",".join(env.cors_origins),
    }
    if env.rate_limit_rpm:
        # Per client IP; the document's "rate-limit" annotation does not exist.
        annotations["nginx.ingress.kubernetes.io/limit-rpm"] = str(env.rate_limit_rpm)
        if env.rate_limit_burst:
            multiplier = max(1, env.rate_limit_burst // env.rate_limit_rpm)
            annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] = str(multiplier)
    paths = [{"path": f"/api/v1/{app.app}", "pathType": "Prefix", "backend": {"service": {
        "name": _backend(app.name, app.strategy), "port": {"number": SERVICE_PORT}}}}
        for app in APPS]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {**_meta("crm-platform-ingress", env, "ingress"),
                         "annotations": annotations},
            "spec": {"ingressClassName": "nginx",
                     "tls": [{"hosts": [env.host], "secretName": "crm-platform-tls"}],
                     "rules": [{"host": env.host, "http": {"paths": paths}}]}}


def network_policies(env: Environment) -> list[dict[str, Any]]:
    """Deny all ingress, then allow: ingress controller and Prometheus to the services,
    the services to each other, services to the collector."""
    def ns(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    def policy(name: str, pods: dict[str, Any], sources: list[dict[str, Any]],
               ports: list[int]) -> dict[str, Any]:
        spec: dict[str, Any] = {"podSelector": pods, "policyTypes": ["Ingress"]}
        if sources:
            spec["ingress"] = [{"from": sources,
                                "ports": [{"protocol": "TCP", "port": p} for p in ports]}]
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": _meta(name, env, "network-policy"), "spec": spec}

    services = {"matchExpressions": [{"key": "app", "operator": "In",
                                      "values": [a.name for a in APPS]}]}
    return [
        policy("default-deny-ingress", {}, [], []),
        policy("crm-services-ingress", services,
               [ns(INGRESS_NAMESPACE), ns(MONITORING_NAMESPACE),
                {"podSelector": services}], [SERVICE_PORT]),
        policy("otel-collector-ingress", {"matchLabels": {"app": COLLECTOR}},
               [{"podSelector": services}, ns(MONITORING_NAMESPACE)],
               [OTLP_GRPC_PORT, OTLP_HTTP_PORT, COLLECTOR_METRICS_PORT]),
    ]


def collector(env: Environment) -> list[dict[str, Any]]:
    """The OTel Collector: the services export OTLP here; it batches to Jaeger."""
    meta = _meta(COLLECTOR, env, "tracing")
    config = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {**meta, "name": f"{COLLECTOR}-config"},
              "data": {"config.yaml": render_yaml(collector_config(JAEGER_OTLP))}}
    ports = [("otlp-grpc", OTLP_GRPC_PORT), ("otlp-http", OTLP_HTTP_PORT),
             ("metrics", COLLECTOR_METRICS_PORT)]
    health = {"httpGet": {"path": "/", "port": COLLECTOR_HEALTH_PORT}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
        "replicas": 1 if env.autoscaling is None else 2,
        "selector": {"matchLabels": {"app": COLLECTOR}},
        "template": {"metadata": {"labels": meta["labels"]}, "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": COLLECTOR, "image": COLLECTOR_IMAGE,
                "args": ["--config=/conf/config.yaml"],
                "ports": [{"name": n, "containerPort": p} for n, p in ports],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "512Mi"}},
                "readinessProbe": health, "livenessProbe": health,
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "config", "mountPath": "/conf"}]}],
            "volumes": [{"name": "config", "configMap": {"name": f"{COLLECTOR}-config"}}]}}}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {
        "selector": {"app": COLLECTOR},
        "ports": [{"name": n, "port": p, "targetPort": p, "protocol": "TCP"} for n, p in ports]}}
    return [config, deployment, service]


BACKUP_SCRIPT = """set -euo pipefail
STAMP=$(date +%Y%m%d_%H%M%S)
for DB in {databases}; do
  FILE="/backup/${{DB}}_${{STAMP}}.sql.gz"
  # Dump and compress in one pass; pipefail makes a failed dump fail the job.
  pg_dump -h "$PGHOST" -U "$PGUSER" -d "$DB" --no-owner --no-privileges | gzip -9 > "$FILE"
  # Integrity: the archive decompresses and ends with pg_dump's completion marker.
  gunzip -t "$FILE"
  gunzip -c "$FILE" | tail -n 5 | grep -q "PostgreSQL database dump complete"
  echo "backup ok: $FILE ($(stat -c %s "$FILE") bytes)"
done
find /backup -name '*.sql.gz' -mtime +{retention} -delete
"""


def backup_cronjob(env: Environment) -> dict[str, Any]:
    databases = " ".join(f"{env.db_name}_{app.app}" for app in APPS)
    script = BACKUP_SCRIPT.format(databases=databases, retention=BACKUP_RETENTION_DAYS)
    secret = {"name": SECRET_NAME}
    container = {
        "name": "postgres-backup", "image": BACKUP_IMAGE, "command": ["/bin/bash", "-c", script],
        "env": [{"name": "PGHOST", "value": env.db_host},
                {"name": "PGSSLMODE", "value": env.ssl_mode},
                {"name": "PGUSER", "valueFrom": {"secretKeyRef": {**secret, "key": "db-user"}}},
                {"name": "PGPASSWORD",
                 "valueFrom": {"secretKeyRef": {**secret, "key": "db-password"}}}],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                      "limits": {"cpu": "1000m", "memory": "1Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "backup", "mountPath": "/backup"}],
    }
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": _meta("database-backup", env, "backup"), "spec": {
                "schedule": BACKUP_SCHEDULE, "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": {
                    "restartPolicy": "OnFailure",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 999,
                                        "fsGroup": 999,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "backup", "persistentVolumeClaim": {
                        "claimName": "database-backup"}}]}}}}}}


def backup_volume(env: Environment) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": _meta("database-backup", env, "backup"),
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "20Gi"}}}}
