"""Plain data -> the YAML event stream PyYAML's serializer would emit, for libyaml to write.

PyYAML's dump builds a node per value through its representer, then its
serializer asks the resolver twice per scalar; for a 1,000-SLO set of rule
files that was three quarters of the generation time. These events carry the
same tags, styles and implicit flags (decided by the same resolver), so the
emitter writes the same bytes, about three times sooner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

__all__ = ["ExactNumber", "document_events", "literal_block"]

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_PLAIN_RESOLVE = (True, False)
# (typed here: the stubs leave Resolver.resolve unannotated)
_resolve: Callable[[type[ScalarNode], str, tuple[bool, bool]], str] = Resolver().resolve
# Keys and label values repeat across rules; long PromQL text rarely does.
_plain_memo: dict[str, bool] = {}
_MEMO_MAX_LENGTH = 64
_MEMO_LIMIT = 8192
ExactNumber = Callable[[float | Decimal], str]


def literal_block(text: str) -> bool:
    """Multi-line text without trailing spaces reads best as a ``|`` block (PromQL)."""
    return "\n" in text and not any(line != line.rstrip() for line in text.splitlines())


def _string(text: str) -> ScalarEvent:
    style = "|" if literal_block(text) else None
    # Written plain only if a reader would not take it for a bool, number, null...
    plain = _plain_memo.get(text)
    if plain is None:
        plain = _resolve(ScalarNode, text, _PLAIN_RESOLVE) == _STR
        if len(text) <= _MEMO_MAX_LENGTH:
            if len(_plain_memo) >= _MEMO_LIMIT:
                _plain_memo.clear()
            _plain_memo[text] = plain
    return ScalarEvent(None, _STR, (plain, True), text, style=style)


def _typed(tag: str, text: str) -> ScalarEvent:
    return ScalarEvent(None, tag, (_resolve(ScalarNode, text, _PLAIN_RESOLVE) == tag, False), text)


def _add_events(value: Any, exact_number: ExactNumber, out: list[Event]) -> None:
    # Appends to one list: nested generators cost a resume per level per event.
    if isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, dict | Mapping):
        out.append(MappingStartEvent(None, _MAP, True, flow_style=False))
        for key, item in value.items():
            out.append(_string(str(key)))
            _add_events(item, exact_number, out)
        out.append(MappingEndEvent())
    elif isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        out.append(SequenceStartEvent(None, _SEQ, True, flow_style=False))
        for item in items:
            _add_events(item, exact_number, out)
        out.append(SequenceEndEvent())
    elif isinstance(value, bool):
        out.append(_typed(_BOOL, "true" if value else "false"))
    elif value is None:
        out.append(_typed(_NULL, "null"))
    elif isinstance(value, int):
        out.append(_typed(_INT, str(value)))
    elif isinstance(value, float | Decimal):
        out.append(_typed(_FLOAT, exact_number(value)))
    else:
        raise TypeError(f"cannot render {type(value).__name__} value {value!r}")


def document_events(data: Any, exact_number: ExactNumber) -> list[Event]:
    """The whole stream for one document; ``exact_number`` writes floats and decimals."""
    out: list[Event] = [StreamStartEvent(), DocumentStartEvent(explicit=None)]
    _add_events(data, exact_number, out)
    out += [DocumentEndEvent(explicit=None), StreamEndEvent()]
    return out
