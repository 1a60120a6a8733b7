"""What each environment changes, checked against the design document's numbers, and
the wiring between resources (selectors, ports, probes, analysis, settings)."""

from __future__ import annotations

from typing import Any

import pytest

from crm_observability import Settings
from crm_observability import conventions as names
from reference_services.common.config import ServiceConfig
from tests.deploy.conftest import by_kind

Docs = dict[str, list[dict[str, Any]]]
APPS = ("contacts", "deals", "leads", "accounts")

# Design document, "Environment Configurations" and "HPA Configuration".
DOCUMENT = {
    "development": {"namespace": "crm-dev", "replicas": 1, "hpa": None, "log": "DEBUG",
                    "sampling": 1.0, "rpm": None, "pool": 5},
    "testing": {"namespace": "crm-test", "replicas": 2, "hpa": None, "log": "INFO",
                "sampling": 0.1, "rpm": None, "pool": 10},
    "staging": {"namespace": "crm-staging", "replicas": 3, "hpa": (3, 10, 70), "log": "INFO",
                "sampling": 0.05, "rpm": "1000", "pool": 20},
    "production": {"namespace": "crm-prod", "replicas": 5, "hpa": (5, 50, 60), "log": "WARNING",
                   "sampling": 0.01, "rpm": "5000", "pool": 50},
}


def _workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The four services' Deployments and Rollouts (not the collector)."""
    found = {**by_kind(docs, "Deployment"), **by_kind(docs, "Rollout")}
    return {n: w for n, w in found.items() if n.endswith("-service")}


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("environment", list(DOCUMENT))
def test_replicas_autoscaling_and_namespace(manifests: Docs, environment: str) -> None:
    want = DOCUMENT[environment]
    docs = manifests[environment]
    workloads = _workloads(docs)
    assert set(workloads) == {f"{a}-service" for a in APPS}
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {
        want["namespace"]}
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    for name, workload in workloads.items():
        assert workload["spec"]["replicas"] == want["replicas"]
        if want["hpa"] is None:
            assert f"{name}-hpa" not in hpas
            continue
        low, high, cpu = want["hpa"]
        hpa = hpas[f"{name}-hpa"]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": workload["apiVersion"],
                                         "kind": workload["kind"], "name": name}
        assert hpa["minReplicas"] == low
        # "Deals Service HPA (High Traffic)" goes to 100 in production.
        assert hpa["maxReplicas"] == (100 if (name, environment) == (
            "deals-service", "production") else high)
        metrics = {m["type"]: m for m in hpa["metrics"]}
        resources = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
                     for m in hpa["metrics"] if m["type"] == "Resource"}
        assert resources["cpu"] == cpu
        assert set(resources) == {"cpu", "memory"}
        assert metrics["Pods"]["pods"]["metric"]["name"] == names.HPA_REQUESTS_PER_SECOND


def test_resources_follow_the_allocation_matrix(manifests: Docs) -> None:
    def res(environment: str, app: str) -> dict[str, Any]:
        return dict(_container(_workloads(manifests[environment])[f"{app}-service"])[
            "resources"])

    assert res("development", "deals") == {"requests": {"cpu": "100m", "memory": "256Mi"},
                                           "limits": {"cpu": "500m", "memory": "512Mi"}}
    assert res("testing", "contacts")["limits"] == {"cpu": "1000m", "memory": "1Gi"}
    assert res("staging", "contacts") == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                          "limits": {"cpu": "1000m", "memory": "2Gi"}}
    assert res("production", "contacts") == {"requests": {"cpu": "1000m", "memory": "2Gi"},
                                             "limits": {"cpu": "2000m", "memory": "4Gi"}}
    assert res("production", "deals") == {"requests": {"cpu": "2000m", "memory": "4Gi"},
                                          "limits": {"cpu": "4000m", "memory": "8Gi"}}


@pytest.mark.parametrize("environment", list(DOCUMENT))
def test_config_maps_are_read_by_the_library_and_the_services(manifests: Docs,
                                                              environment: str) -> None:
    want = DOCUMENT[environment]
    maps = by_kind(manifests[environment], "ConfigMap")
    for app in APPS:
        data = maps[f"{app}-service-config"]["data"]
        settings = Settings.from_env(data)
        assert settings.environment == environment
        assert settings.log_level == want["log"]
        assert settings.trace_sample_ratio == want["sampling"]
        assert settings.log_format == "json"
        # Every SLO latency threshold is a bucket bound (p99 at 2 s is not an OTel default).
        assert 0.5 in settings.http_buckets and 2.0 in settings.http_buckets
        config = ServiceConfig.from_env(app, {**data, "CRM_JWT_SECRET": "x" * 40})
        assert config.db_pool_size == want["pool"]


@pytest.mark.parametrize("environment", list(DOCUMENT))
def test_probes_use_the_actuator_paths_on_the_served_port(manifests: Docs,
                                                          environment: str) -> None:
    for workload in _workloads(manifests[environment]).values():
        container = _container(workload)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": 8080}
        for probe, path in (("livenessProbe", names.LIVENESS_PATH),
                            ("readinessProbe", names.READINESS_PATH),
                            ("startupProbe", names.STARTUP_PATH)):
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        env = {e["name"]: e for e in container["env"]}
        # DATABASE_URL interpolates the secret's variables, which must come first.
        order = [e["name"] for e in container["env"]]
        assert order.index("DB_PASSWORD") < order.index("DATABASE_URL")
        assert "$(DB_PASSWORD)" in env["DATABASE_URL"]["value"]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("environment", list(DOCUMENT))
def test_services_ingress_and_monitor_are_wired(manifests: Docs, environment: str) -> None:
    docs = manifests[environment]
    services = by_kind(docs, "Service")
    pods = {n: w["spec"]["template"]["metadata"]["labels"] for n, w in _workloads(docs).items()}
    for name, service in services.items():
        if name == "otel-collector":
            continue
        matched = [p for p, labels in pods.items() if _selects(service["spec"]["selector"], labels)]
        assert len(matched) == 1, name
    # The ServiceMonitor scrapes exactly one Service per app (no double scrapes of a pod).
    monitor = by_kind(docs, "ServiceMonitor")["crm-services"]["spec"]
    scraped = [n for n, s in services.items()
               if _selects(monitor["selector"]["matchLabels"], s["metadata"]["labels"])]
    assert sorted(scraped) == sorted(f"{a}-service" for a in APPS)
    endpoint = monitor["endpoints"][0]
    assert endpoint["path"] == names.METRICS_PATH and endpoint["honorLabels"] is True
    assert endpoint["relabelings"][0]["targetLabel"] == names.LABEL_POD_TEMPLATE_HASH
    # Ingress: the document's paths, to existing Services on their ports; contacts
    # (blue/green) reaches only the active colour.
    ingress = by_kind(docs, "Ingress")["crm-platform-ingress"]
    rule = ingress["spec"]["rules"][0]
    paths = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
    assert set(paths) == {f"/api/v1/{a}" for a in APPS}
    for backend in paths.values():
        assert backend["name"] in services
        assert backend["port"]["number"] == services[backend["name"]]["spec"]["ports"][0]["port"]
    assert paths["/api/v1/contacts"]["name"] == "contacts-service-active"
    annotations = ingress["metadata"]["annotations"]
    assert annotations.get("nginx.ingress.kubernetes.io/limit-rpm") == DOCUMENT[environment]["rpm"]
    if environment == "production":  # burst 10000 over 5000 rpm
        assert annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "2"


def test_rollouts_use_the_slo_analysis(manifests: Docs) -> None:
    docs = manifests["production"]
    rollouts = by_kind(docs, "Rollout")
    templates = by_kind(docs, "AnalysisTemplate")
    blue_green = rollouts["contacts-service"]["spec"]["strategy"]["blueGreen"]
    assert blue_green["autoPromotionEnabled"] is False
    services = by_kind(docs, "Service")
    assert {blue_green["activeService"], blue_green["previewService"]} <= set(services)
    canary = rollouts["leads-service"]["spec"]["strategy"]["canary"]
    assert [s["setWeight"] for s in canary["steps"] if "setWeight" in s] == [10, 20, 50]
    for ref in (blue_green["prePromotionAnalysis"], blue_green["postPromotionAnalysis"],
                canary["analysis"]):
        template = templates[ref["templates"][0]["templateName"]]
        declared = {a["name"] for a in template["spec"]["args"]}
        assert {a["name"] for a in ref["args"]} == declared
        assert ref["args"][0]["valueFrom"] == {"podTemplateHashValue": "Latest"}
    contacts = templates["contacts-service-slo"]["spec"]["metrics"]
    # One analysis metric per SLO of slo/contacts-service.slo.yml, at its objective.
    assert [m["name"] for m in contacts] == ["availability", "latency-p95", "latency-p99"]
    assert [m["successCondition"] for m in contacts] == [
        "result[0] >= 0.999", "result[0] >= 0.95", "result[0] >= 0.99"]


@pytest.mark.parametrize("environment", list(DOCUMENT))
def test_budgets_policies_and_backup(manifests: Docs, environment: str) -> None:
    docs = manifests[environment]
    budgets = by_kind(docs, "PodDisruptionBudget")
    # A single replica cannot have a disruption budget (it would block node drains).
    assert len(budgets) == (0 if DOCUMENT[environment]["replicas"] == 1 else 4)
    for budget in budgets.values():
        assert budget["spec"]["maxUnavailable"] == 1
    policies = by_kind(docs, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {},
                                                       "policyTypes": ["Ingress"]}
    allowed = policies["crm-services-ingress"]["spec"]["ingress"][0]["ports"]
    assert allowed == [{"protocol": "TCP", "port": 8080}]
    cron = by_kind(docs, "CronJob")["database-backup"]["spec"]
    assert cron["schedule"] == "0 */6 * * *"
    assert cron["concurrencyPolicy"] == "Forbid"
    dashboards = by_kind(docs, "ConfigMap")
    sidecar = [c for c in dashboards.values()
               if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert len(sidecar) >= 7
