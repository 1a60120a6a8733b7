"""PromQL analysis: parse once, walk the AST once, keep what the checks need.

:func:`analyze` is cached per expression text, so a rule set that repeats the
same sub-queries (every burn-rate window, every dashboard copy) pays once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import promql_parser as pp

from crm_observability.lint.guards import (
    ABSENT,
    filters,
    is_vectorish,
    string_value,
    zeroable,
)
from crm_observability.lint.labelset import NO_LABELS, LabelSet, vector_match

Version = tuple[int, int]

# Functions and aggregations newer than Prometheus 2.30, with the release that
# brought them (approximate for the experimental ones, which also need a flag).
FUNCTION_SINCE: dict[str, Version] = {
    "histogram_count": (2, 40),
    "histogram_sum": (2, 40),
    "histogram_fraction": (2, 40),
    "histogram_stddev": (2, 50),
    "histogram_stdvar": (2, 50),
    "histogram_avg": (2, 53),
    "mad_over_time": (2, 54),
    "sort_by_label": (2, 54),
    "sort_by_label_desc": (2, 54),
    "limitk": (2, 54),
    "limit_ratio": (2, 54),
    "double_exponential_smoothing": (3, 0),
    "info": (3, 0),
    "ts_of_min_over_time": (3, 5),
    "ts_of_max_over_time": (3, 5),
    "ts_of_last_over_time": (3, 5),
    "first_over_time": (3, 7),
    "ts_of_first_over_time": (3, 7),
}
# Experimental: behind --enable-feature=promql-experimental-functions in every release.
EXPERIMENTAL: frozenset[str] = frozenset(
    {
        "mad_over_time", "sort_by_label", "sort_by_label_desc", "limitk", "limit_ratio",
        "double_exponential_smoothing", "info", "ts_of_min_over_time", "ts_of_max_over_time",
        "ts_of_last_over_time", "ts_of_first_over_time", "first_over_time",
    }
)
UTF8_NAMES_SINCE: Version = (3, 0)
OR_MATCHERS_SINCE: Version = (3, 0)
UNITLESS_DURATION_SINCE: Version = (3, 0)
HOLT_WINTERS_REMOVED: Version = (3, 0)
# What a bare Grafana variable becomes before parsing (see dashboards.py).
PLACEHOLDER = "__grafana_variable__"

_NO_LABEL_FUNCS: frozenset[str] = frozenset({"vector", "time", "scalar", "pi"})
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_UNITLESS = re.compile(
    r"\[\s*\d+(?:\.\d+)?\s*[:\]]|:\s*\d+(?:\.\d+)?\s*\]|\boffset\s+-?\d+(?:\.\d+)?(?![\w.])"
)


def parse_version(text: str) -> Version:
    """``"2.42"``, ``"v2.42.0"`` -> ``(2, 42)``; ValueError otherwise."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    if match is None:
        raise ValueError(f"not a Prometheus version (want e.g. 2.42): {text!r}")
    return int(match.group(1)), int(match.group(2))


def _register_holt_winters() -> None:
    # holt_winters exists up to 2.x; the parser only knows its 3.x name.
    try:
        matrix, scalar = pp.ValueType.Matrix, pp.ValueType.Scalar
        fn = pp.Function("holt_winters", [matrix, scalar, scalar], pp.ValueType.Vector)
        pp.register_extra_functions([fn])
    except ValueError:  # pragma: no cover - a future parser knows it already
        pass


_register_holt_winters()


@dataclass(frozen=True, slots=True)
class Feature:
    """A language feature whose availability depends on the Prometheus version."""

    description: str
    since: Version
    experimental: bool = False
    removed: Version | None = None


@dataclass(frozen=True, slots=True)
class Selector:
    """A metric a query reads, and the range function applied to it (if any)."""

    name: str
    function: str | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the checks need from one expression (or the parse error)."""

    error: str | None = None
    selectors: tuple[Selector, ...] = ()
    features: tuple[Feature, ...] = ()
    labels: LabelSet = field(default_factory=LabelSet)
    has_comparison: bool = False  # the result is filtered by a comparison or is absent()
    unguarded_divisions: tuple[str, ...] = ()


class _Walker:
    def __init__(self) -> None:
        self.selectors: list[Selector] = []
        self.features: list[Feature] = []
        self.divisions: list[str] = []

    def visit(self, node: Any, range_fn: str | None = None) -> LabelSet:
        """Walk ``node``; return the labels of its result."""
        if isinstance(node, pp.VectorSelector):
            self._selector(node, range_fn)
            return LabelSet()
        if isinstance(node, pp.MatrixSelector):
            self._selector(node.vector_selector, range_fn)
            return LabelSet()
        if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
            return self.visit(node.expr, range_fn)
        if isinstance(node, pp.Call):
            return self._call(node)
        if isinstance(node, pp.AggregateExpr):
            return self._aggregate(node)
        if isinstance(node, pp.BinaryExpr):
            return self._binary(node)
        return NO_LABELS  # number and string literals

    def _selector(self, node: Any, range_fn: str | None) -> None:
        name = node.name
        for matcher in node.matchers.matchers:
            if matcher.name == "__name__" and str(matcher.op) == "MatchOp.Equal":
                name = matcher.value
        if node.matchers.or_matchers:
            self.features.append(Feature("'or' inside label matchers", OR_MATCHERS_SINCE))
        if name and name != PLACEHOLDER:
            if not _METRIC_NAME.match(name):
                self.features.append(Feature(f"UTF-8 metric name {name!r}", UTF8_NAMES_SINCE))
            self.selectors.append(Selector(name, range_fn))

    def _call(self, node: Any) -> LabelSet:
        name: str = node.func.name
        self._function_feature(name, bool(node.func.experimental))
        inner = [self.visit(arg, name) for arg in node.args]
        if name in _NO_LABEL_FUNCS:
            return NO_LABELS
        if name in ABSENT:
            return self._absent_labels(node.args[0]) if node.args else NO_LABELS
        if name in ("label_replace", "label_join") and len(node.args) > 1:
            return inner[0].add(frozenset({string_value(node.args[1])}))
        if name == "histogram_quantile" and len(inner) > 1:
            return inner[1].drop(frozenset({"le"}))
        vectors = [ls for arg, ls in zip(node.args, inner, strict=True) if is_vectorish(arg)]
        return vectors[0] if vectors else NO_LABELS

    def _function_feature(self, name: str, experimental: bool) -> None:
        if name == "holt_winters":
            self.features.append(Feature("function holt_winters", (2, 0), False,
                                         HOLT_WINTERS_REMOVED))
        elif name in FUNCTION_SINCE or experimental:
            self.features.append(
                Feature(f"function {name}", FUNCTION_SINCE.get(name, (3, 0)),
                        experimental or name in EXPERIMENTAL)
            )

    @staticmethod
    def _absent_labels(arg: Any) -> LabelSet:
        # absent(x{a="b"}) carries the equality matchers' labels; anything else, none.
        while isinstance(arg, pp.MatrixSelector):
            arg = arg.vector_selector
        if isinstance(arg, pp.VectorSelector):
            return LabelSet(frozenset(
                m.name for m in arg.matchers.matchers
                if str(m.op) == "MatchOp.Equal" and m.name != "__name__"
            ))
        return NO_LABELS

    def _aggregate(self, node: Any) -> LabelSet:
        op = str(node.op)
        if op in FUNCTION_SINCE:
            since = FUNCTION_SINCE[op]
            self.features.append(Feature(f"aggregation {op}", since, op in EXPERIMENTAL))
        if node.param is not None:
            self.visit(node.param)
        inner = self.visit(node.expr)
        if op in ("topk", "bottomk", "limitk", "limit_ratio"):
            return inner  # these select series, labels unchanged
        extra = frozenset({string_value(node.param)}) if op == "count_values" else frozenset()
        modifier = node.modifier
        if modifier is None:
            return LabelSet(extra)
        labels = frozenset(modifier.labels)
        if str(modifier.type) == "AggModifierType.By":
            return inner.keep(labels).add(extra)
        return inner.drop(labels).add(extra)

    def _binary(self, node: Any) -> LabelSet:
        op = str(node.op)
        modifier = node.modifier
        lhs = self.visit(node.lhs)
        rhs = self.visit(node.rhs)
        if op == "/" and zeroable(node.rhs):
            self.divisions.append(_short(node.rhs))
        lhs_vec, rhs_vec = is_vectorish(node.lhs), is_vectorish(node.rhs)
        if not lhs_vec:
            return rhs if rhs_vec else NO_LABELS
        if not rhs_vec:
            return lhs
        if op == "or":
            return lhs.common(rhs)
        if op in ("and", "unless"):
            return lhs
        return vector_match(lhs, rhs, modifier)


def _short(node: Any, limit: int = 80) -> str:
    text = str(node).replace("{}", "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


@lru_cache(maxsize=16384)
def analyze(expr: str) -> Analysis:
    """Parse and walk ``expr`` (cached); ``error`` is set when it does not parse."""
    if not expr.strip():
        return Analysis(error="empty expression")
    try:
        tree = pp.parse(expr)
    except (ValueError, RuntimeError, OverflowError) as exc:
        return Analysis(error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    walker = _Walker()
    try:
        labels = walker.visit(tree)
    except RecursionError:
        return Analysis(error="expression nested too deeply")
    features = list(walker.features)
    if _UNITLESS.search(_STRINGS.sub('""', expr)):
        features.append(Feature("duration without a unit", UNITLESS_DURATION_SINCE))
    return Analysis(
        selectors=tuple(walker.selectors),
        features=tuple(features),
        labels=labels,
        has_comparison=filters(tree),
        unguarded_divisions=tuple(walker.divisions),
    )


def valid_label_name(name: str) -> bool:
    return bool(_LABEL_NAME.match(name)) and not name.startswith("__")


def valid_metric_name(name: str) -> bool:
    return bool(_METRIC_NAME.match(name))
