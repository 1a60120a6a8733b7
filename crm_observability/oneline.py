"""``one_line``: user input echoed in an error or finding stays on one line."""

from __future__ import annotations

import re

__all__ = ["one_line"]

# C0 controls (line breaks, tabs, escapes), DEL, C1 controls, and Unicode line separators.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``)."""
    if not _CONTROL_RE.search(text):
        return text
    return _CONTROL_RE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
