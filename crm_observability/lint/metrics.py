"""Checks on every query (rule expressions and dashboard targets alike).

Syntax, Prometheus version, experimental features, unguarded divisions, and,
against the metric catalog: ``rate`` on counters only, metrics that exist,
recording rules that are defined.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from crm_observability.lint.catalog import COUNTER, HISTOGRAM, RECORDED, UNKNOWN, Catalog
from crm_observability.lint.findings import Finding
from crm_observability.lint.guards import RATE_FUNCTIONS
from crm_observability.lint.promql import Version, analyze

# Series kinds on which rate/increase/irate make sense.
_RATEABLE = frozenset({COUNTER, HISTOGRAM, RECORDED, UNKNOWN})


@dataclass(frozen=True, slots=True)
class Query:
    """A PromQL expression and where it came from (for the message)."""

    file: str
    line: int
    expr: str
    where: str  # e.g. "alert 'HighErrorRate'", "panel 'Error rate' target A"


@dataclass(frozen=True, slots=True)
class QueryContext:
    target: Version
    catalog: Catalog | None
    defined: frozenset[str]  # recording rules of the linted files


def check_query(query: Query, ctx: QueryContext) -> Iterator[Finding]:
    analysis = analyze(query.expr)
    file, line, where = query.file, query.line, query.where
    if analysis.error is not None:
        yield Finding(file, line, "promql-syntax", f"{where}: {analysis.error}")
        return
    target = f"{ctx.target[0]}.{ctx.target[1]}"
    for feature in analysis.features:
        if feature.experimental:
            yield Finding(file, line, "promql-experimental",
                          f"{where}: {feature.description} is experimental (needs "
                          "--enable-feature=promql-experimental-functions)")
        elif feature.removed is not None and ctx.target >= feature.removed:
            yield Finding(file, line, "promql-version",
                          f"{where}: {feature.description} was removed in "
                          f"{feature.removed[0]}.{feature.removed[1]} (target {target})")
        elif feature.since > ctx.target:
            yield Finding(file, line, "promql-version",
                          f"{where}: {feature.description} needs Prometheus "
                          f"{feature.since[0]}.{feature.since[1]} (target {target})")
    for denominator in analysis.unguarded_divisions:
        yield Finding(file, line, "division-unguarded",
                      f"{where}: denominator {denominator} is 0 at zero traffic (NaN); "
                      "guard it with clamp_min(..., 1e-9), a '> 0' filter or 'or'")
    for selector in dict.fromkeys(analysis.selectors):
        yield from _check_selector(query, ctx, selector.name, selector.function)


def _check_selector(
    query: Query, ctx: QueryContext, name: str, function: str | None
) -> Iterator[Finding]:
    file, line, where = query.file, query.line, query.where
    known = name in ctx.defined or (ctx.catalog is not None and name in ctx.catalog)
    if ":" in name:
        if not known:
            yield Finding(file, line, "rule-missing-dependency",
                          f"{where}: recording rule {name!r} is not defined in the linted "
                          "files or the catalog")
        return
    if ctx.catalog is None or name in ctx.defined:
        return
    kind = ctx.catalog.kind(name)
    if kind is None:
        yield Finding(file, line, "metric-unknown",
                      f"{where}: metric {name!r} is not in the metric catalog")
    elif function in RATE_FUNCTIONS and kind not in _RATEABLE:
        yield Finding(file, line, "rate-on-non-counter",
                      f"{where}: {function}() on {name!r}, which is a {kind}, not a counter")
