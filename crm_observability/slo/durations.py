"""Prometheus durations (``30d``, ``1h30m``) as whole seconds, and back."""

from __future__ import annotations

import re

_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Units Prometheus 2.x renders; weeks and years are accepted on input only.
_OUT_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_DURATION = re.compile(r"^(?:\d+[ywdhms])+$")
_PART = re.compile(r"(\d+)([ywdhms])")


def parse_duration(text: str) -> int:
    """Seconds in ``text`` (``5m``, ``1h30m``, ``28d``); ValueError when it is not a duration."""
    if not isinstance(text, str) or not _DURATION.match(text) or "ms" in text:
        raise ValueError(f"{text!r} is not a duration like 5m, 1h30m or 30d")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return seconds


def format_duration(seconds: int) -> str:
    """Shortest Prometheus duration text for whole ``seconds`` (``2592000`` -> ``30d``)."""
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {seconds}")
    parts = []
    rest = seconds
    for unit, size in _OUT_UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
