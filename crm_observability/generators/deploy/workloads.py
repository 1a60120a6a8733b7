"""Kubernetes workloads of one service in one environment (pure builders, plain dicts).

Rolling services are Deployments; contacts is an Argo Rollouts blue/green
Rollout and leads a canary Rollout, both gated by the SLO AnalysisTemplate.
Every service gets the same pod: the document's three probes, resources from
the allocation matrix, settings by environment variables, a read-only root.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.deploy.analysis import analysis_ref
from crm_observability.generators.deploy.model import (
    APPS,
    CANARY_STEPS,
    IMAGE,
    SERVICE_PORT,
    Application,
    Environment,
)
from crm_observability.generators.render import exact_number

PORT_NAME = "http"
SECRET_NAME = "crm-services"  # keys: jwt-secret, db-user, db-password (created out of band)
OTLP_ENDPOINT = "http://otel-collector:4318"
MONITORING_LABEL = "monitoring"  # selects the one Service per app the ServiceMonitor scrapes


def labels(app: Application, env: Environment) -> dict[str, str]:
    return {"app": app.name, "app.kubernetes.io/name": app.name,
            "app.kubernetes.io/part-of": names.DEFAULT_APPLICATION,
            "app.kubernetes.io/managed-by": "crm-obs", names.LABEL_ENVIRONMENT: env.name}


def meta(name: str, app: Application, env: Environment, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": env.namespace, "labels": labels(app, env), **extra}


def config_map(app: Application, env: Environment, buckets: str) -> dict[str, Any]:
    """Non-secret settings of the service (CRM_OBS_* and OTEL_* are the library's)."""
    data = {
        "CRM_OBS_HTTP_BUCKETS": buckets,
        "CRM_OBS_ENVIRONMENT": env.name,
        "CRM_OBS_LOG_LEVEL": env.log_level,
        "CRM_OBS_LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_ENDPOINT,
        "OTEL_TRACES_SAMPLER_ARG": exact_number(env.trace_sample_ratio),
        "CRM_DB_POOL_SIZE": str(env.db_pool_size),
        "CONTACTS_SERVICE_URL": f"http://contacts-service:{SERVICE_PORT}",
        "ACCOUNTS_SERVICE_URL": f"http://accounts-service:{SERVICE_PORT}",
        "REDIS_URL": env.redis_url,
        "CRM_SERVICE": app.app,
    }
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta(f"{app.name}-config", app, env), "data": data}


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": key}}}


def _probe(path: str, initial: int, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": PORT_NAME}, "initialDelaySeconds": initial,
            "periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": failures}


def pod_template(app: Application, env: Environment) -> dict[str, Any]:
    database = (f"postgresql://$(DB_USER):$(DB_PASSWORD)@{env.db_host}:5432/"
                f"{env.db_name}_{app.app}?sslmode={env.ssl_mode}")
    container = {
        "name": app.name,
        "image": f"{IMAGE}:latest",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": SERVICE_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": f"{app.name}-config"}}],
        "env": [_secret_env("DB_USER", "db-user"), _secret_env("DB_PASSWORD", "db-password"),
                {"name": "DATABASE_URL", "value": database},
                _secret_env("CRM_JWT_SECRET", "jwt-secret")],
        "resources": env.resources_for(app.app).as_k8s(),
        # Startup (migrations, cache warm-up) gets up to 5 minutes; then liveness and
        # readiness take over, on the document's paths and periods.
        "startupProbe": _probe(names.STARTUP_PATH, 5, 10, 30),
        "readinessProbe": _probe(names.READINESS_PATH, 0, 10, 3),
        "livenessProbe": _probe(names.LIVENESS_PATH, 0, 30, 3),
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        # No prometheus.io/* annotations: the ServiceMonitor is the one scrape path (an
        # annotation-based job as well would scrape every pod twice and double every sum).
        "metadata": {"labels": labels(app, env)},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            # uvicorn drains in-flight requests on SIGTERM; readiness turns 503 first.
            "terminationGracePeriodSeconds": 30,
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


def workload(app: Application, env: Environment) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": env.initial_replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": {"app": app.name}},
        "template": pod_template(app, env),
    }
    if app.strategy == "rolling":
        spec["strategy"] = {"type": "RollingUpdate",
                            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": meta(app.name, app, env), "spec": spec}
    ref = analysis_ref(app.name)
    if app.strategy == "blue-green":
        spec["strategy"] = {"blueGreen": {
            "activeService": f"{app.name}-active", "previewService": f"{app.name}-preview",
            "autoPromotionEnabled": False, "scaleDownDelaySeconds": 30,
            "prePromotionAnalysis": ref, "postPromotionAnalysis": ref}}
    else:
        steps: list[dict[str, Any]] = []
        for weight, pause in CANARY_STEPS:
            steps += [{"setWeight": weight}, {"pause": {"duration": pause}}]
        spec["strategy"] = {"canary": {
            "canaryService": f"{app.name}-canary", "stableService": f"{app.name}-stable",
            "steps": steps,
            # Analysis runs in the background from the first step; failing it aborts.
            "analysis": {**ref, "startingStep": 1}}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": meta(app.name, app, env), "spec": spec}


def services(app: Application, env: Environment) -> list[dict[str, Any]]:
    """The app's Service (scraped, routed by the Ingress) plus the rollout's own pair."""
    def service(name: str, scraped: bool) -> dict[str, Any]:
        m = meta(name, app, env)
        if scraped:
            m["labels"] = {**m["labels"], MONITORING_LABEL: "enabled"}
        return {"apiVersion": "v1", "kind": "Service", "metadata": m, "spec": {
            "type": "ClusterIP", "selector": {"app": app.name},
            "ports": [{"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": PORT_NAME,
                       "protocol": "TCP"}]}}

    extra = {"blue-green": ("active", "preview"), "canary": ("stable", "canary")}
    return [service(app.name, True),
            *(service(f"{app.name}-{kind}", False) for kind in extra.get(app.strategy, ()))]


def autoscaler(app: Application, env: Environment) -> dict[str, Any] | None:
    scaling = env.autoscaling
    if scaling is None:
        return None
    kind = "Deployment" if app.strategy == "rolling" else "Rollout"
    api = "apps/v1" if kind == "Deployment" else "argoproj.io/v1alpha1"

    def resource(name: str, percent: int) -> dict[str, Any]:
        return {"type": "Resource", "resource": {
            "name": name, "target": {"type": "Utilization", "averageUtilization": percent}}}

    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta(f"{app.name}-hpa", app, env), "spec": {
                "scaleTargetRef": {"apiVersion": api, "kind": kind, "name": app.name},
                "minReplicas": scaling.min_replicas,
                "maxReplicas": env.max_replicas.get(app.app, scaling.max_replicas),
                "metrics": [
                    resource("cpu", scaling.cpu_utilization),
                    resource("memory", scaling.memory_utilization),
                    # Served by prometheus-adapter from the request histogram (docs/deploying.md).
                    {"type": "Pods", "pods": {
                        "metric": {"name": names.HPA_REQUESTS_PER_SECOND},
                        "target": {"type": "AverageValue",
                                   "averageValue": str(scaling.requests_per_second)}}},
                ],
                "behavior": {
                    "scaleDown": {"stabilizationWindowSeconds": 300, "policies": [
                        {"type": "Percent", "value": 10, "periodSeconds": 60}]},
                    "scaleUp": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                                "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60},
                                             {"type": "Pods", "value": 5, "periodSeconds": 60}]},
                }}}


def disruption_budget(app: Application, env: Environment) -> dict[str, Any] | None:
    # One pod at a time may be evicted; a single replica gets no budget (it would block
    # every node drain).
    if env.initial_replicas < 2:
        return None
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": meta(f"{app.name}-pdb", app, env),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": app.name}}}}


def app_resources(app: Application, env: Environment, buckets: str) -> list[dict[str, Any]]:
    built = [config_map(app, env, buckets), workload(app, env), *services(app, env),
             autoscaler(app, env), disruption_budget(app, env)]
    return [r for r in built if r is not None]


def all_app_resources(env: Environment,
                      buckets: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """``{app: resources}`` for the four services; ``buckets`` by service name."""
    return {app.app: app_resources(app, env, buckets[app.name]) for app in APPS}
