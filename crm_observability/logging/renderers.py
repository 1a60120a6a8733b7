"""The last processor of the chain: one event in, one line of text out.

* :class:`JSONRenderer` - one JSON object per line (orjson), core fields first.
* :class:`ConsoleRenderer` - structlog's readable development renderer, with
  every control character escaped so an untrusted value cannot start a
  forged line or drive the terminal; a traceback follows on indented lines.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog

from crm_observability import conventions as names

_HEAD = (names.LOG_TIMESTAMP, names.LOG_LEVEL, names.LOG_LOGGER)
_SERVICE = (names.LOG_SERVICE, names.LOG_ENVIRONMENT)
_MULTILINE = (names.LOG_EXCEPTION, "stack", "stack_info")
_EVENT = "event"  # structlog's key for the message until the renderer renames it

# C0 controls, DEL, C1 NEL and the Unicode line/paragraph separators.
_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, 0x85)}
_ESCAPES |= {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"}
_JSON_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}
_ESCAPES_KEEP_ANSI = {c: s for c, s in _ESCAPES.items() if c != 0x1B}


def escape_controls(text: str) -> str:
    """``text`` with control characters written as escapes (``\\n``, ``\\x1b``...)."""
    return text if text.isprintable() else text.translate(_ESCAPES)


def _default(value: Any) -> Any:
    # orjson handles the common types natively; anything else is shown by str().
    return str(value)


def dumps(event: dict[str, Any]) -> str:
    """``event`` as one line of JSON: no character in it ends a line for any reader.

    orjson escapes C0 controls; NEL and the Unicode line separators, which
    ``str.splitlines`` and some shippers split on, are escaped here (they can
    only occur inside JSON strings, where the escape means the same character).
    """
    line = orjson.dumps(event, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()
    if not line.isascii() and ("\u2028" in line or "\u2029" in line or "\x85" in line):
        line = line.translate(_JSON_LINE_BREAKS)
    return line


class JSONRenderer:
    """``timestamp``, ``level``, ``logger``, ``message``, ``service``, ``environment`` first."""

    __slots__ = ()

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> str:
        out = {key: event.pop(key, None) for key in _HEAD}
        if names.LOG_MESSAGE in event:  # a call-site "message=" keeps its value, renamed
            event[names.LOG_MESSAGE + "_"] = event.pop(names.LOG_MESSAGE)
        out[names.LOG_MESSAGE] = event.pop(_EVENT, None)
        for key in _SERVICE:
            if key in event:
                out[key] = event.pop(key)
        out.update(event)
        return dumps(out)


class ConsoleRenderer:
    """``12:00:00.123 [info ] message  key=value [logger]`` for a terminal."""

    __slots__ = ("_colors", "_inner")

    def __init__(self, colors: bool = False) -> None:
        self._colors = colors
        self._inner = structlog.dev.ConsoleRenderer(colors=colors, sort_keys=False)

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> str:
        # The same service on every line of a terminal is noise.
        event.pop(names.LOG_SERVICE, None)
        event.pop(names.LOG_ENVIRONMENT, None)
        timestamp = event.get(names.LOG_TIMESTAMP)
        if isinstance(timestamp, str):
            event[names.LOG_TIMESTAMP] = timestamp[11:23]  # HH:MM:SS.mmm
        level = event.get(names.LOG_LEVEL)
        if isinstance(level, str):
            event[names.LOG_LEVEL] = level.lower()  # structlog's colour table is lower-case
        tail = [event.pop(key) for key in _MULTILINE if key in event]
        clean = {
            escape_controls(k) if isinstance(k, str) else k:
                escape_controls(v) if isinstance(v, str) else v
            for k, v in event.items()
        }
        line = self._inner(logger, method, clean)
        if not line.isprintable():  # a repr() of some object may still hold controls
            line = line.translate(_ESCAPES_KEEP_ANSI if self._colors else _ESCAPES)
        for text in tail:
            # Continuation lines are indented: nothing in them can pass for a new event.
            line += "".join(
                "\n    " + escape_controls(part) for part in str(text).splitlines()
            )
        return line
