"""Read YAML/JSON files keeping line numbers, and tell what each document is.

Mappings load as :class:`LocDict` and sequences as :class:`LocList`: plain
``dict``/``list`` subclasses that also remember the line of the node and of
each key/item, so every finding can point at a line.  The C loader is used
when PyYAML has it (about 5x faster on big rule files).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LoadError(Exception):
    """The file cannot be used at all (unreadable, not YAML/JSON): exit status 2."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class LocDict(dict[Any, Any]):
    """A mapping that remembers its own line and the line of each key."""

    line: int = 1
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        lines: dict[Any, int] = getattr(self, "key_lines", {})
        return lines.get(key, self.line)


class LocList(list[Any]):
    """A sequence that remembers its own line and the line of each item."""

    line: int = 1
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        lines = getattr(self, "item_lines", [])
        return lines[index] if index < len(lines) else self.line


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LocDict:
    loader.flatten_mapping(node)  # resolve << merge keys first
    result = LocDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LocList:
    result = LocList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class DocKind(enum.StrEnum):
    RULES = "rules"  # a Prometheus rule file (or a PrometheusRule's spec)
    DASHBOARD = "dashboard"  # Grafana dashboard JSON, plain or {"dashboard": ...}
    ALERTMANAGER = "alertmanager"  # an Alertmanager configuration
    RULE_TEST = "rule-test"  # a promtool test rules suite


@dataclass(frozen=True, slots=True)
class Document:
    """One recognised document: ``data`` is the part the checks read."""

    path: str
    kind: DocKind
    data: Any
    line: int
    wrapped: bool = False  # PrometheusRule resource or {"dashboard": ...} wrapper


def parse_text(text: str, path: str) -> list[Any]:
    """All documents of a YAML (or JSON) text, with line numbers; LoadError if invalid."""
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.YAMLError as exc:
        if path.endswith(".json"):
            return [_json_fallback(text, path)]
        raise LoadError(path, f"invalid YAML: {_yaml_reason(exc)}") from None
    except RecursionError:
        raise LoadError(path, "invalid YAML: nested too deeply") from None


def _json_fallback(text: str, path: str) -> Any:
    # JSON that YAML 1.1 rejects (tabs, "\/" escapes): valid, but without line numbers.
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LoadError(path, f"invalid JSON: {exc}") from None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def classify(data: Any, path: str) -> Document | None:
    """What one loaded document is, or None for files the linter does not know."""
    if not isinstance(data, dict):
        return None
    line = getattr(data, "line", 1)
    if data.get("kind") == "PrometheusRule":
        spec = data.get("spec")
        spec_line = data.line_of("spec") if isinstance(data, LocDict) else line
        return Document(path, DocKind.RULES, spec if isinstance(spec, dict) else {}, spec_line,
                        True)
    if "rule_files" in data and "tests" in data:
        return Document(path, DocKind.RULE_TEST, data, line)
    if "groups" in data:
        return Document(path, DocKind.RULES, data, line)
    if "route" in data and "receivers" in data:
        return Document(path, DocKind.ALERTMANAGER, data, line)
    inner = data.get("dashboard")
    if isinstance(inner, dict) and "panels" in inner:
        return Document(path, DocKind.DASHBOARD, inner, getattr(inner, "line", line), True)
    if "panels" in data and ("schemaVersion" in data or "title" in data):
        return Document(path, DocKind.DASHBOARD, data, line)
    return None


def load_file(path: Path) -> list[Document]:
    """Recognised documents of one file; LoadError if it cannot be read or parsed."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise LoadError(name, f"cannot read: {reason}") from None
    found = (classify(data, name) for data in parse_text(text, name))
    return [doc for doc in found if doc is not None]
