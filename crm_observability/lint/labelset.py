"""What labels an expression's result carries, as far as the AST tells.

Used to check that ``$labels.x`` in an alert template names a label that
survives the expression's aggregations and vector matching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LabelSet:
    """Labels an expression's result carries: ``exact`` when known, else all but ``dropped``."""

    exact: frozenset[str] | None = None
    dropped: frozenset[str] = frozenset()

    def has(self, label: str) -> bool:
        if self.exact is not None:
            return label in self.exact
        return label not in self.dropped

    def keep(self, labels: frozenset[str]) -> LabelSet:
        return LabelSet(labels if self.exact is None else self.exact & labels)

    def drop(self, labels: frozenset[str]) -> LabelSet:
        if self.exact is not None:
            return LabelSet(self.exact - labels)
        return LabelSet(None, self.dropped | labels)

    def add(self, labels: frozenset[str]) -> LabelSet:
        if self.exact is not None:
            return LabelSet(self.exact | labels)
        return LabelSet(None, self.dropped - labels)

    def common(self, other: LabelSet) -> LabelSet:
        """Labels present on both (``or``: a label is certain only if both sides have it)."""
        if self.exact is not None and other.exact is not None:
            return LabelSet(self.exact & other.exact)
        if self.exact is not None:
            return LabelSet(frozenset(x for x in self.exact if other.has(x)))
        if other.exact is not None:
            return other.common(self)
        return LabelSet(None, self.dropped | other.dropped)


NO_LABELS = LabelSet(frozenset())


def vector_match(lhs: LabelSet, rhs: LabelSet, modifier: Any) -> LabelSet:
    """Result labels of a vector/vector arithmetic or comparison (Prometheus resultMetric)."""
    matching = modifier.matching if modifier is not None else None
    card = str(modifier.card) if modifier is not None else "VectorMatchCardinality.OneToOne"
    labels = frozenset(matching.labels) if matching is not None else frozenset()
    on = matching is not None and str(matching.type) == "LabelModifierType.Include"
    if card.endswith("ManyToOne") or card.endswith("OneToMany"):
        base = lhs if card.endswith("ManyToOne") else rhs
        return base.add(frozenset(modifier.group_labels or ()))
    return lhs.keep(labels) if on else lhs.drop(labels)
