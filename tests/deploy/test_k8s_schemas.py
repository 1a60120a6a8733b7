"""Every generated Kubernetes manifest validates offline: built-in kinds against the
Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields fail), CRDs
against the vendored CRD schemas with unknown fields forbidden as well."""

from __future__ import annotations

import copy
import json
import subprocess
from functools import cache
from typing import Any

import jsonschema
import pytest

from tests.deploy.conftest import ROOT, SCHEMAS, documents, require_tool

kubernetes_validate = pytest.importorskip("kubernetes_validate")

K8S_VERSION = "1.30.0"
ENVIRONMENTS = ("development", "testing", "staging", "production")
CRD_GROUPS = ("argoproj.io/", "monitoring.coreos.com/")


def _close(schema: Any) -> Any:
    """Forbid properties a CRD schema does not list (the operator would prune them silently)."""
    if isinstance(schema, dict):
        out = {k: _close(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_close(v) for v in schema]
    return schema


@cache
def crd_validator(kind: str) -> jsonschema.protocols.Validator:
    schema = _close(json.loads((SCHEMAS / f"{kind}.json").read_text()))
    return jsonschema.Draft7Validator(schema)


def crd_errors(doc: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in crd_validator(doc["kind"]).iter_errors(doc)]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_builtin_kinds_validate_strictly(manifests: dict[str, list[dict[str, Any]]],
                                         environment: str) -> None:
    docs = [d for d in manifests[environment] if not d["apiVersion"].startswith(CRD_GROUPS)]
    assert len(docs) > 20
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_crds_validate_against_their_schemas(manifests: dict[str, list[dict[str, Any]]],
                                             environment: str) -> None:
    crds = [d for d in manifests[environment] if d["apiVersion"].startswith(CRD_GROUPS)]
    kinds = {d["kind"] for d in crds}
    assert kinds == {"Rollout", "AnalysisTemplate", "ServiceMonitor", "PrometheusRule"}
    for doc in crds:
        assert crd_errors(doc) == [], doc["metadata"]["name"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_rollout_pod_templates_are_valid_pod_templates(
        manifests: dict[str, list[dict[str, Any]]], environment: str) -> None:
    # The Rollout CRD schema leaves the pod template open; check it as a Deployment's.
    rollouts = [d for d in manifests[environment] if d["kind"] == "Rollout"]
    assert len(rollouts) == 2
    for rollout in rollouts:
        spec = {k: v for k, v in rollout["spec"].items() if k != "strategy"}
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": rollout["metadata"], "spec": spec}
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_schemas_reject_mistakes(manifests: dict[str, list[dict[str, Any]]]) -> None:
    docs = manifests["production"]
    template = copy.deepcopy(next(d for d in docs if d["kind"] == "AnalysisTemplate"))
    template["spec"]["metrics"][0]["successConditon"] = "typo"
    assert any("successConditon" in e for e in crd_errors(template))
    monitor = copy.deepcopy(next(d for d in docs if d["kind"] == "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["interval"] = 30
    assert crd_errors(monitor)
    deployment = copy.deepcopy(next(d for d in docs if d["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"][
        "pathh"] = "/x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_kustomization_builds_every_listed_file(generated: dict[str, str],
                                                environment: str) -> None:
    kubectl = require_tool("kubectl")
    out = subprocess.run([kubectl, "kustomize", str(ROOT / "deploy/k8s" / environment)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    built = documents(out.stdout)
    files = {p: t for p, t in generated.items()
             if p.startswith(f"deploy/k8s/{environment}/") and not p.endswith("kustomization.yaml")}
    expected = sum(len(documents(t)) for t in files.values())
    assert len(built) == expected
    namespaced = [d for d in built if d["kind"] != "Namespace"]
    assert {d["metadata"]["namespace"] for d in namespaced} == {
        {"development": "crm-dev", "testing": "crm-test", "staging": "crm-staging",
         "production": "crm-prod"}[environment]}
