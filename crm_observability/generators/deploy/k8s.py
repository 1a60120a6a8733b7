"""Plain Kubernetes manifests per environment: ``deploy/k8s/<environment>/*.yaml``.

No Helm here (no renderer to test it with): each environment is a complete,
generated directory with a ``kustomization.yaml``, so ``kubectl apply -k
deploy/k8s/production`` works and a user's own overlay can patch on top
(image tag, hosts).  Files group resources by purpose, one service per file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.deploy import k8s_monitoring as monitoring
from crm_observability.generators.deploy import k8s_platform as platform
from crm_observability.generators.deploy.analysis import http_buckets
from crm_observability.generators.deploy.model import APPS, ENVIRONMENT_TABLE, Environment
from crm_observability.generators.deploy.workloads import all_app_resources
from crm_observability.generators.render import header_lines, render_yaml
from crm_observability.slo.model import SLOSpec

K8S_DIR = f"{names.DEPLOY_DIR}/k8s"
ADAPTER_VALUES = f"{K8S_DIR}/prometheus-adapter.values.yaml"
_HEADER = "source: crm_observability/generators/deploy (crm-obs generate)"


def render_documents(docs: Sequence[Mapping[str, Any]], header: str = _HEADER) -> str:
    """A multi-document YAML stream with one generated-file header."""
    bare = len(header_lines())
    bodies = [render_yaml(doc)[bare:] for doc in docs]
    return header_lines(header) + "---\n".join(bodies)


def environment_files(env: Environment, specs: Sequence[SLOSpec],
                      dashboards: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``{file name: resources}`` for one environment."""
    files: dict[str, list[dict[str, Any]]] = {"namespace.yaml": [platform.namespace(env)]}
    buckets = {app.name: http_buckets(specs, app.name) for app in APPS}
    for app, resources in all_app_resources(env, buckets).items():
        files[f"{app}-service.yaml"] = resources
    files["ingress.yaml"] = [platform.ingress(env)]
    files["network-policies.yaml"] = platform.network_policies(env)
    files["otel-collector.yaml"] = platform.collector(env)
    files["database-backup.yaml"] = [platform.backup_volume(env), platform.backup_cronjob(env)]
    files["monitoring.yaml"] = [monitoring.service_monitor(env),
                                *monitoring.prometheus_rules(env, specs)]
    files["analysis-templates.yaml"] = monitoring.analysis_templates(env, specs)
    files["dashboards.yaml"] = monitoring.dashboard_config_maps(env, dashboards)
    return files


def kustomization(env: Environment, file_names: Sequence[str]) -> dict[str, Any]:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "namespace": env.namespace, "resources": list(file_names)}


def k8s_files(specs: Sequence[SLOSpec], dashboards: Mapping[str, Any]) -> dict[str, str]:
    """Every generated file under ``deploy/k8s`` (repository path -> text)."""
    out: dict[str, str] = {ADAPTER_VALUES: render_yaml(monitoring.adapter_values(),
                                                       header=_HEADER)}
    for env in ENVIRONMENT_TABLE.values():
        files = environment_files(env, specs, dashboards)
        for name, docs in files.items():
            out[f"{K8S_DIR}/{env.name}/{name}"] = render_documents(docs)
        out[f"{K8S_DIR}/{env.name}/kustomization.yaml"] = render_yaml(
            kustomization(env, list(files)), header=_HEADER)
    return out
