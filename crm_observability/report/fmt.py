"""Number and time formatting shared by the text renderers (table, markdown, html)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from crm_observability.report.model import GroupReport, TierStatus

NONE = "—"


def percent(value: float | None, digits: int = 3) -> str:
    """``0.99912`` -> ``99.912%``; trailing zeros kept short."""
    if value is None or not math.isfinite(value):
        return NONE
    text = f"{value * 100:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def burn(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return NONE
    if value >= 100:
        return f"{value:.0f}x"
    return f"{value:.2f}x"


def duration(seconds: float | None) -> str:
    """Human time: ``43m12s``, ``2d4h``; ``—`` when unknown; negative gets a minus sign."""
    if seconds is None or not math.isfinite(seconds):
        return NONE
    sign = "-" if seconds < 0 else ""
    rest = round(abs(seconds))
    if rest == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts[:2])  # two units are enough to read


def timestamp(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def group_name(labels: dict[str, str] | None) -> str:
    if not labels:
        return ""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def tiers_text(group: GroupReport) -> str:
    """Alert tiers whose condition holds, by long window: ``page(1h,6h) ticket(3d)``."""
    parts = []
    for severity in dict.fromkeys(t.severity for t in group.tiers):
        held = [t.long_window for t in group.tiers if t.severity == severity and t.holds]
        if held:
            parts.append(f"{severity}({','.join(held)})")
    return " ".join(parts) if parts else "none"


def tier_state(tier: TierStatus) -> str:
    if tier.disabled:
        return "disabled"
    if tier.low_traffic:
        return "low traffic"
    return "FIRING" if tier.holds else "ok"


def exhaustion(group: GroupReport) -> str:
    if group.exhaustion_seconds is None:
        return "not burning" if group.budget is not None else NONE
    if group.exhaustion_seconds == 0:
        return "exhausted"
    return f"in {duration(group.exhaustion_seconds)}"
