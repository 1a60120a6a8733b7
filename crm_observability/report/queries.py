"""PromQL the report runs: the generated recording rules, and the raw SLI fallback.

The raw expressions are built by the rule generator's own helpers, so a window's
raw error ratio is the very expression its recording rule stores (same ``or``
for missing error series, same ``> 0`` guard against 0/0, same ``le`` matcher).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crm_observability import conventions as names
from crm_observability.generators.slo_rules import (
    event_queries,
    event_ratio_query,
    fill_window,
    quote,
)
from crm_observability.slo.durations import format_duration
from crm_observability.slo.model import SLO, RawSLI

FIVE_MINUTES = 300
# Step of the subquery that averages a raw ratio SLI over its period when its
# rules are missing (the rule averages its own 5m recordings).
RAW_PERIOD_STEP = "5m"


def services_selector(services: Iterable[str]) -> str:
    """``{service=~"a|b"}``: one batched rule query covers every SLO of these services."""
    pattern = "|".join(re.escape(s) for s in sorted(set(services)))
    return f"{{{names.LABEL_SERVICE}=~{quote(pattern)}}}"


def rule_ratio(window: str, selector: str) -> str:
    """The recorded error ratio over ``window`` (``1h``; the period's text for the period)."""
    return f"{names.slo_error_ratio_rule(window)}{selector}"


def rule_events(long_window: int, selector: str) -> str:
    """Events in ``long_window`` from the recorded 5m totals: the alert's min_events guard."""
    total = names.SLO_TOTAL_RATE_RULE.format(window="5m")
    return f"avg_over_time({total}{selector}[{format_duration(long_window)}]) * {long_window}"


def raw_ratio(slo: SLO, seconds: int) -> str:
    """The error ratio over ``seconds`` straight from the spec's SLI queries."""
    window = format_duration(seconds)
    sli = slo.sli
    if isinstance(sli, RawSLI):
        if seconds == slo.period_seconds:
            five = fill_window(sli.error_ratio_query, format_duration(FIVE_MINUTES))
            return f"avg_over_time(((({five}) >= 0))[{window}:{RAW_PERIOD_STEP}])"
        return f"({fill_window(sli.error_ratio_query, window)}) >= 0"
    return event_ratio_query(slo, window)


def raw_events(slo: SLO, seconds: int) -> str | None:
    """Events over ``seconds`` from the spec's total query (None for a raw ratio SLI)."""
    if isinstance(slo.sli, RawSLI):
        return None
    _, total = event_queries(slo)
    return f"({fill_window(total, format_duration(seconds))}) * {seconds}"
