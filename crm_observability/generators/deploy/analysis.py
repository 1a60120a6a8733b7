"""Argo Rollouts AnalysisTemplates whose queries come from the SLO definitions.

One template per service; one analysis metric per SLO of its ``slo/*.slo.yml``.
Each query is the SLO's own good-events ratio (``1 - errors / total``), over a
short window, restricted to the new revision's pods by the
``rollouts_pod_template_hash`` label the ServiceMonitor copies from the pod.
The success condition is the SLO objective; with no traffic the ratio is NaN,
which meets neither condition, so the analysis is inconclusive and the
rollout pauses for a human instead of promoting blind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import promql_parser

from crm_observability import conventions as names
from crm_observability.generators.slo_rules import error_count_query, event_queries, plain
from crm_observability.slo.model import LatencySLI, RawSLI, SLOSpec

ANALYSIS_WINDOW = "2m"  # the document's success-rate window
INTERVAL = "30s"
COUNT = 10
FAILURE_LIMIT = 3
INCONCLUSIVE_LIMIT = 2
HASH_LABEL = names.LABEL_POD_TEMPLATE_HASH
HASH_ARG = "pod-template-hash"
_SELECTOR_OPEN = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{")


class AnalysisError(ValueError):
    """An SLO query cannot be restricted to one revision; the message names the field."""


def template_name(service: str) -> str:
    return f"{service}-slo"


def _restrict(query: str) -> str:
    """``query`` with the pod-template-hash matcher added to every selector."""
    matcher = f'{HASH_LABEL}="{{{{args.{HASH_ARG}}}}}"'
    return _SELECTOR_OPEN.sub(lambda m: f"{m.group(1)}{{{matcher},", query).replace(",}", "}")


def _selectors(node: Any) -> list[Any]:
    """Every vector selector in a parsed expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    found: list[Any] = []
    for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            found.extend(_selectors(child))
    for arg in getattr(node, "args", None) or ():
        found.extend(_selectors(arg))
    return found


def success_query(spec: SLOSpec, index: int) -> str:
    """The good-events ratio of ``spec.slos[index]`` for one revision (raises AnalysisError)."""
    slo = spec.slos[index]
    where = f"{spec.source}: {slo.path}.sli"
    if isinstance(slo.sli, RawSLI):
        ratio = slo.sli.error_ratio_query.replace("{{window}}", ANALYSIS_WINDOW)
        query = f"1 - ({ratio})"
    else:
        error, total = event_queries(slo)
        errors = error_count_query(error, total, ANALYSIS_WINDOW, slo)
        query = f"1 - (({errors}) / ({total.replace('{{window}}', ANALYSIS_WINDOW)}))"
    restricted = _restrict(query)
    # Prove the rewrite: the query parses and every selector carries the matcher.
    try:
        parsed = promql_parser.parse(restricted.replace(f"{{{{args.{HASH_ARG}}}}}", "h"))
    except Exception as exc:  # the parser raises its own error types
        raise AnalysisError(f"{where}: query does not parse after adding {HASH_LABEL}: "
                            f"{exc}") from None
    for selector in _selectors(parsed):
        if HASH_LABEL not in str(selector.matchers):
            raise AnalysisError(f"{where}: selector {selector.name or selector} has no braces; "
                                f"write it as {selector.name}{{}} so a revision can be selected")
    return restricted


def analysis_template(spec: SLOSpec, namespace: str, prometheus_url: str) -> dict[str, Any]:
    metrics = []
    for index, slo in enumerate(spec.slos):
        objective = plain(slo.objective / 100)
        metrics.append({
            "name": slo.name,
            "interval": INTERVAL,
            "count": COUNT,
            "successCondition": f"result[0] >= {objective}",
            "failureCondition": f"result[0] < {objective}",
            "failureLimit": FAILURE_LIMIT,
            "inconclusiveLimit": INCONCLUSIVE_LIMIT,
            "provider": {"prometheus": {"address": prometheus_url,
                                        "query": success_query(spec, index)}},
        })
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": template_name(spec.service), "namespace": namespace,
                     "labels": {"app.kubernetes.io/name": spec.service,
                                "app.kubernetes.io/managed-by": "crm-obs"}},
        "spec": {"args": [{"name": HASH_ARG}], "metrics": metrics},
    }


def analysis_ref(service: str) -> dict[str, Any]:
    """The ``templates``/``args`` block a Rollout step uses (hash of the new revision)."""
    return {"templates": [{"templateName": template_name(service)}],
            "args": [{"name": HASH_ARG, "valueFrom": {"podTemplateHashValue": "Latest"}}]}


def http_buckets(specs: Sequence[SLOSpec], service: str) -> str:
    """``CRM_OBS_HTTP_BUCKETS`` for ``service``: the defaults plus every latency threshold
    its SLOs measure on the request histogram (a threshold must be a bucket bound)."""
    bounds = {Decimal(str(b)) for b in names.HTTP_DURATION_BUCKETS}
    for spec in specs:
        if spec.service != service:
            continue
        for slo in spec.slos:
            if isinstance(slo.sli, LatencySLI) and slo.sli.histogram == names.HTTP_SERVER_DURATION:
                bounds.add(slo.sli.threshold)
    return ",".join(plain(b) for b in sorted(bounds))
