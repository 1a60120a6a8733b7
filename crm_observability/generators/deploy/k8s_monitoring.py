"""Monitoring resources for prometheus-operator, Grafana's sidecar and Argo Rollouts.

ServiceMonitor (honours the services' own ``service`` label and copies the
Argo pod-template hash), PrometheusRules built from the same groups as the
committed rule files, one dashboard ConfigMap per generated dashboard, the SLO
AnalysisTemplates, and the prometheus-adapter rule behind the HPA's
requests-per-second metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.alerts import alert_rule_file
from crm_observability.generators.deploy.analysis import analysis_template
from crm_observability.generators.deploy.k8s_platform import MONITORING_NAMESPACE
from crm_observability.generators.deploy.model import APPS, Environment
from crm_observability.generators.deploy.prometheus import SERVICE_SCRAPE_INTERVAL
from crm_observability.generators.deploy.workloads import MONITORING_LABEL, PORT_NAME
from crm_observability.generators.render import render_json
from crm_observability.generators.slo_rules import build_rule_groups
from crm_observability.slo.model import SLOSpec

PROMETHEUS_URL = f"http://prometheus-operated.{MONITORING_NAMESPACE}.svc:9090"
RELEASE_LABEL = {"release": "kube-prometheus-stack"}  # what the operator's selectors match
DASHBOARD_LABEL = "grafana_dashboard"  # the Grafana sidecar's default label


def _meta(name: str, env: Environment, **labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": env.namespace, "labels": {
        "app.kubernetes.io/part-of": names.DEFAULT_APPLICATION,
        "app.kubernetes.io/managed-by": "crm-obs", names.LABEL_ENVIRONMENT: env.name, **labels}}


def service_monitor(env: Environment) -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": _meta("crm-services", env, **RELEASE_LABEL), "spec": {
                "selector": {"matchLabels": {MONITORING_LABEL: "enabled"}},
                "endpoints": [{
                    "port": PORT_NAME, "path": names.METRICS_PATH,
                    "interval": SERVICE_SCRAPE_INTERVAL,
                    # The series already carry application/service/environment.
                    "honorLabels": True,
                    "relabelings": [{
                        "sourceLabels": ["__meta_kubernetes_pod_label_rollouts_pod_template_hash"],
                        "targetLabel": names.LABEL_POD_TEMPLATE_HASH}],
                }]}}


def prometheus_rules(env: Environment, specs: Sequence[SLOSpec]) -> list[dict[str, Any]]:
    """The platform alerts and each service's SLO rules, as PrometheusRule resources."""
    def rule(name: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
        return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                "metadata": _meta(name, env, **RELEASE_LABEL), "spec": {"groups": groups}}

    platform = alert_rule_file()["groups"]
    return [rule("crm-platform-alerts", platform),
            *(rule(f"{spec.service}-slo", build_rule_groups(spec)) for spec in specs)]


def dashboard_config_maps(env: Environment,
                          dashboards: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard (each stays far below the 256 KiB apply limit)."""
    out = []
    for path, data in dashboards.items():
        file = PurePosixPath(path).name
        meta = _meta(f"dashboard-{PurePosixPath(path).stem}", env, **{DASHBOARD_LABEL: "1"})
        meta["annotations"] = {"grafana_folder": "CRM"}
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                    "data": {file: render_json(data)}})
    return out


def analysis_templates(env: Environment, specs: Sequence[SLOSpec]) -> list[dict[str, Any]]:
    """Templates for the services deployed by a Rollout (contacts, leads)."""
    rolled = {a.name for a in APPS if a.strategy != "rolling"}
    return [analysis_template(s, env.namespace, PROMETHEUS_URL)
            for s in specs if s.service in rolled]


def adapter_values() -> dict[str, Any]:
    """prometheus-adapter chart values: per-pod request rate from the histogram's count."""
    series = f"{names.HTTP_SERVER_DURATION}_count"
    return {"rules": {"default": False, "custom": [{
        "seriesQuery": f'{series}{{namespace!="",pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"},
                                    "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{series}$", "as": names.HPA_REQUESTS_PER_SECOND},
        "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
    }]}}
