"""AST predicates: does a result filter (for alerts), can a denominator be 0 at idle."""

from __future__ import annotations

from typing import Any

import promql_parser as pp

RATE_FUNCTIONS: frozenset[str] = frozenset({"rate", "irate", "increase"})
# Functions whose result is 0 when nothing happened in the window.
_ZERO_AT_IDLE: frozenset[str] = RATE_FUNCTIONS | {"delta", "idelta", "resets", "changes"}
COMPARISONS: frozenset[str] = frozenset({"==", "!=", ">", "<", ">=", "<="})
ABSENT: frozenset[str] = frozenset({"absent", "absent_over_time"})


def filters(node: Any) -> bool:
    """Is the result a filter: a comparison (not ``bool``) or absent() on the result path?"""
    while isinstance(node, (pp.ParenExpr, pp.SubqueryExpr)):
        node = node.expr
    if isinstance(node, pp.BinaryExpr):
        op = str(node.op)
        if op in COMPARISONS:
            return not (node.modifier is not None and node.modifier.return_bool)
        if op in ("and", "or", "unless"):
            return filters(node.lhs) or (op != "unless" and filters(node.rhs))
        return False
    if isinstance(node, pp.AggregateExpr):
        return filters(node.expr)
    if isinstance(node, pp.Call):
        return node.func.name in ABSENT or any(filters(arg) for arg in node.args)
    return False


def is_vectorish(node: Any) -> bool:
    """Does ``node`` yield a vector (labels matter), rather than a scalar or string?"""
    while isinstance(node, (pp.ParenExpr, pp.UnaryExpr)):
        node = node.expr
    if isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
        return False
    if isinstance(node, pp.Call):
        return node.func.name not in ("time", "scalar", "pi")
    if isinstance(node, pp.BinaryExpr):
        return is_vectorish(node.lhs) or is_vectorish(node.rhs)
    return True


def string_value(node: Any) -> str:
    return str(node.val) if isinstance(node, pp.StringLiteral) else ""


def number_value(node: Any) -> float | None:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return float(node.val) if isinstance(node, pp.NumberLiteral) else None


def zeroable(node: Any) -> bool:
    """Can this (denominator) be exactly 0 when a service sees no traffic, unguarded?"""
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return zeroable(node.expr)
    if isinstance(node, pp.NumberLiteral):
        return float(node.val) == 0.0
    if isinstance(node, pp.VectorSelector):
        # a recording rule named level:metric:operations holding a rate/increase
        ops = (node.name or "").rsplit(":", 1)
        return len(ops) == 2 and ("rate" in ops[1] or "increase" in ops[1])
    if isinstance(node, pp.Call):
        return _zeroable_call(node)
    if isinstance(node, pp.AggregateExpr):
        return str(node.op) not in ("count", "count_values", "group") and zeroable(node.expr)
    if isinstance(node, pp.BinaryExpr):
        return _zeroable_binary(node)
    return False


def _zeroable_call(node: Any) -> bool:
    name = node.func.name
    if name in _ZERO_AT_IDLE:
        return True
    if name in ("clamp_min", "clamp") and len(node.args) > 1:
        floor = number_value(node.args[1])
        return floor is None or floor <= 0
    return any(zeroable(arg) for arg in node.args if is_vectorish(arg))


def _zeroable_binary(node: Any) -> bool:
    op = str(node.op)
    bool_cmp = node.modifier is not None and node.modifier.return_bool
    if op in COMPARISONS:
        # a filter such as `x > 0` drops the zero series; `x > bool 0` yields 0
        return bool(bool_cmp) or _filter_keeps_zero(op, number_value(node.rhs))
    if op == "or":
        return False  # a fallback series is supplied
    if op in ("and", "unless"):
        return zeroable(node.lhs)
    left, right = zeroable(node.lhs), zeroable(node.rhs)
    if op in ("+", "max"):
        return left and right
    if op == "/":
        return left
    return left or right


def _filter_keeps_zero(op: str, bound: float | None) -> bool:
    if bound is None:
        return True
    keeps = {">": bound < 0, ">=": bound <= 0, "!=": bound != 0, "<": bound > 0,
             "<=": bound >= 0, "==": bound == 0}
    return keeps[op]
