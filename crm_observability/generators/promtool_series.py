"""Input series for generated ``promtool test rules`` suites, in promtool's notation.

Counters grow by binary fractions (multiples of 1/1024 on 8192 requests per
sample): float64 sums of those are exact, so a long run never ends a hair above
the value the next phase starts at, which promtool would read as a counter reset.
"""

from __future__ import annotations

from decimal import Decimal

from crm_observability import conventions as names
from crm_observability.generators.render import exact_number

REQUESTS_PER_STEP = Decimal(8192)
_GRAIN = Decimal(1024)
COUNT_METRIC = f"{names.HTTP_SERVER_DURATION}_count"


def exact(value: Decimal) -> Decimal:
    """``value`` rounded to the nearest binary-exact increment."""
    return (value * _GRAIN).to_integral_value() / _GRAIN


def traffic(
    service: str, phases: list[tuple[Decimal, int]], per_step: Decimal | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Input series (status 200, status 500) for phases of (error ratio, samples)."""
    total = exact(per_step if per_step is not None else REQUESTS_PER_STEP)
    good = counter([(total - exact(total * r), n) for r, n in phases])
    bad = counter([(exact(total * r), n) for r, n in phases])
    return series(service, "200", good), series(service, "500", bad)


def counter(phases: list[tuple[Decimal, int]]) -> str:
    """Expanding notation for a counter growing by ``inc`` per sample for ``n`` samples."""
    parts = []
    value = Decimal(0)
    for i, (inc, n) in enumerate(phases):
        if i:  # later phases start one sample after the previous one ended
            value += inc
            n -= 1
        # "+0x15" would read as the hex number 0x15: write "axn" for a flat run.
        parts.append(f"{_num(value)}+{_num(inc)}x{n}" if inc else f"{_num(value)}x{n}")
        value += inc * n
    return " ".join(parts)


def series(service: str, code: str, values: str) -> dict[str, str]:
    labels = {names.LABEL_SERVICE: service, names.LABEL_HTTP_STATUS: code}
    return {"series": metric_text(COUNT_METRIC, labels), "values": values}


def metric_text(metric: str, labels: dict[str, str]) -> str:
    """``metric{a="1",b="2"}`` with sorted labels, as promtool prints series."""
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{body}}}"


def _num(value: Decimal) -> str:
    # Keep "0.0": "0x15" is read as a hexadecimal number, not "0 repeated 15 times".
    text = exact_number(value)
    return text if text == "0.0" else text.removesuffix(".0")
