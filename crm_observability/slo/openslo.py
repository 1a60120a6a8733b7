"""Loader for OpenSLO ``apiVersion: openslo/v1`` ``kind: SLO`` documents.

Supported: an inline ``indicator`` with a Prometheus ``ratioMetric`` (``good`` or
``bad``, plus ``total``), one objective (``target`` 0..1 or ``targetPercent``) and
one rolling ``timeWindow``.  With ``counter: true`` a bare metric selector is
wrapped as ``sum(rate(SELECTOR[{{window}}]))``.  Every document of a file must
name the same ``spec.service``; each becomes one SLO of the spec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_observability.slo.fields import Fields
from crm_observability.slo.model import (
    DEFAULT_PERIOD,
    SLO,
    WINDOW_PLACEHOLDER,
    EventsSLI,
    SLOSpec,
)

API_VERSION = "openslo/v1"
KIND = "SLO"


def load_openslo(docs: Sequence[Mapping[str, Any]], file: str) -> SLOSpec:
    f = Fields(file)
    service = None
    slos = []
    for i, doc in enumerate(docs):
        # Multi-document files name fields per document: "[1].spec.service".
        root = f"[{i}]." if len(docs) > 1 else ""
        slo, doc_service = _slo(f, doc, root)
        if service is not None and doc_service != service:
            raise f.fail(f"{root}spec.service", f"is {doc_service!r} but the file's first "
                         f"SLO is for {service!r}; one service per file")
        service = doc_service
        slos.append(slo)
    assert service is not None  # docs is never empty (checked by the caller)
    return SLOSpec(service=service, slos=tuple(slos), source=file)


def _slo(f: Fields, doc: Mapping[str, Any], root: str) -> tuple[SLO, str]:
    meta = f.section(doc, "metadata", root.rstrip("."))
    spec = f.mapping(f.get(doc, "spec", root.rstrip(".")), f"{root}spec")
    where = f"{root}spec"
    if "indicatorRef" in spec:
        raise f.fail(f"{where}.indicatorRef", "only inline indicators are supported")
    indicator = f.mapping(f.get(spec, "indicator", where), f"{where}.indicator")
    ind_spec = f.section(indicator, "spec", f"{where}.indicator")
    ratio = f.mapping(f.get(ind_spec, "ratioMetric", f"{where}.indicator.spec"),
                      f"{where}.indicator.spec.ratioMetric")
    ratio_path = f"{where}.indicator.spec.ratioMetric"
    counter = f.get(ratio, "counter", ratio_path, False) is True
    total = _query(f, ratio, "total", ratio_path, counter)
    if "bad" in ratio:
        error = _query(f, ratio, "bad", ratio_path, counter)
    else:
        error = f"({total}) - ({_query(f, ratio, 'good', ratio_path, counter)})"
    objectives = f.get(spec, "objectives", where)
    if not isinstance(objectives, list) or len(objectives) != 1:
        raise f.fail(f"{where}.objectives", "must be a list of exactly one objective")
    objective = f.mapping(objectives[0], f"{where}.objectives[0]")
    if "targetPercent" in objective:
        percent = f.decimal(objective, "targetPercent", f"{where}.objectives[0]")
        target_path = f"{where}.objectives[0].targetPercent"
    else:
        percent = f.decimal(objective, "target", f"{where}.objectives[0]") * 100
        target_path = f"{where}.objectives[0].target"
    name = f.text(meta, "name", f"{root}metadata")
    slo = SLO(
        name=name,
        description=f.text(spec, "description", where, ""),
        objective=percent,
        period_seconds=_period(f, spec, where),
        sli=EventsSLI(error_query=error, total_query=total),
        labels=_labels(f, meta, f"{root}metadata"),
        path=where,
        field_paths={
            "name": f"{root}metadata.name",
            "objective": target_path,
            "sli.events.error_query": f"{ratio_path}.{'bad' if 'bad' in ratio else 'good'}",
            "sli.events.total_query": f"{ratio_path}.total",
            "alerting.page": f"{where}.alertPolicies",
            "alerting.ticket": f"{where}.alertPolicies",
        },
    )
    return slo, f.text(spec, "service", where)


def _query(f: Fields, ratio: Mapping[str, Any], key: str, path: str, counter: bool) -> str:
    where = f"{path}.{key}"
    source = f.section(f.mapping(f.get(ratio, key, path), where), "metricSource", where)
    kind = f.text(source, "type", f"{where}.metricSource")
    if kind.lower() != "prometheus":
        raise f.fail(f"{where}.metricSource.type", f"must be Prometheus, got {kind!r}")
    query: str = f.text(f.section(source, "spec", f"{where}.metricSource"), "query",
                        f"{where}.metricSource.spec")
    if counter and WINDOW_PLACEHOLDER not in query:
        query = f"sum(rate({query}[{WINDOW_PLACEHOLDER}]))"
    return query


def _period(f: Fields, spec: Mapping[str, Any], where: str) -> int:
    windows = f.get(spec, "timeWindow", where, None)
    if windows is None:
        return DEFAULT_PERIOD
    if not isinstance(windows, list) or len(windows) != 1:
        raise f.fail(f"{where}.timeWindow", "must be a list of exactly one time window")
    window = f.mapping(windows[0], f"{where}.timeWindow[0]")
    if window.get("isRolling", True) is not True:
        raise f.fail(f"{where}.timeWindow[0].isRolling", "only rolling windows are supported")
    seconds: int = f.duration(window, "duration", f"{where}.timeWindow[0]", DEFAULT_PERIOD)
    return seconds


def _labels(f: Fields, meta: Mapping[str, Any], path: str) -> dict[str, str]:
    # OpenSLO labels may be lists of values; Prometheus labels hold one.
    raw = f.section(meta, "labels", path)
    out = {}
    for key, value in raw.items():
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str):
            raise f.fail(f"{path}.labels.{key}", "must be one string value")
        out[str(key)] = value
    return out
