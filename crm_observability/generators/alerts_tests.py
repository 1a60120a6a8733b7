"""``promtool test rules`` suites for the platform alerts, generated from the same config.

For every alert one suite (``alerts/tests/<alert>.test.yml``) shows that it
fires above its threshold once its ``for`` has passed (with the exact labels
and rendered annotations), stays pending before that, and stays silent below
the threshold and at zero traffic.  Inputs are derived from the thresholds, so
changing a parameter keeps the suites meaningful.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from prometheus_client.utils import floatToGoString

from crm_observability import conventions as names
from crm_observability.generators.alerts import (
    AlertConfig,
    AlertRule,
    duration_seconds,
    platform_alerts,
)
from crm_observability.generators.render import render_yaml

Labels = dict[str, str]
Series = tuple[tuple[str, Labels, float], ...]  # metric, labels, value
_STEP_S = 60  # promtool interval and evaluation_interval
_BASE: Labels = {
    names.LABEL_APPLICATION: names.DEFAULT_APPLICATION,
    names.LABEL_SERVICE: "contacts",
    names.LABEL_ENVIRONMENT: "production",
    names.LABEL_JOB: "contacts",
    names.LABEL_INSTANCE: "contacts:8000",
}
_REQUESTS = f"{names.HTTP_SERVER_DURATION}_count"
_BUCKETS = f"{names.HTTP_SERVER_DURATION}_bucket"


# --- Go template functions promtool applies to annotations --------------------
def _g(v: float) -> str:
    return f"{v:.4g}"


def _scaled(v: float) -> tuple[float, str]:
    """Scale ``v`` into [1, 1000) with an SI prefix, as Prometheus' humanize does."""
    prefix = ""
    if abs(v) >= 1:
        for p in "kMGTPEZY":
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
    else:
        for p in "munpfazy":
            if abs(v) >= 1:
                break
            prefix, v = p, v * 1000
    return v, prefix


def humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g(v)
    scaled, prefix = _scaled(v)
    return _g(scaled) + prefix


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _g(v)
    if v == 0:
        return _g(v) + "s"
    if abs(v) < 1:
        scaled, prefix = _scaled(v)
        return f"{_g(scaled)}{prefix}s"
    sign, v = ("-", -v) if v < 0 else ("", v)
    whole = int(v)
    days, hours = whole // 86400, whole // 3600 % 24
    minutes, seconds = whole // 60 % 60, whole % 60
    if days:
        return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
    if hours:
        return f"{sign}{hours}h {minutes}m {seconds}s"
    if minutes:
        return f"{sign}{minutes}m {seconds}s"
    return f"{sign}{_g(v)}s"


def humanize_percentage(v: float) -> str:
    return _g(v * 100) + "%"


_FUNCS: dict[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
}
_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def expand(template: str, labels: Mapping[str, str], value: float) -> str:
    """Render the small template subset our annotations use: ``$labels.x``, ``$value | f``."""

    def action(match: re.Match[str]) -> str:
        text = match.group(1)
        if text.startswith("$labels."):
            return labels.get(text.removeprefix("$labels."), "")
        head, _, func = (part.strip() for part in text.partition("|"))
        if head == "$value" and func in _FUNCS:
            return _FUNCS[func](value)
        raise ValueError(f"template action {{{{ {text} }}}} is not supported by expand()")

    return _ACTION.sub(action, template)


# --- scenarios ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scenario:
    """Input series and what the alert does with them."""

    name: str
    series: Series  # metric, labels, change per minute (or level)
    counters: bool  # True: values grow by the amount each minute; False: constant gauge
    fires: tuple[tuple[Labels, float], ...] = ()  # output labels and value when firing
    # Seconds until a rate over a long window sees the full traffic (e.g. the 1h SLA window
    # against a minimum-traffic guard): firing is checked this much later.
    warmup: int = 0


def _series_text(metric: str, labels: Labels) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{metric}{{{inner}}}"


def _num(v: float) -> str:
    return f"{v:.12g}"


def _with(**extra: str) -> Labels:
    return {**_BASE, **extra}


def _keep(labels: Labels, keys: tuple[str, ...]) -> Labels:
    return {k: labels[k] for k in keys}


_SERVICE_KEYS = (names.LABEL_APPLICATION, names.LABEL_SERVICE, names.LABEL_ENVIRONMENT)
_INSTANCE_KEYS = (*_SERVICE_KEYS, names.LABEL_INSTANCE)
_TARGET_KEYS = (names.LABEL_JOB, names.LABEL_INSTANCE)


def _requests(ratio: float, rps: float, env: str = "production") -> Series:
    per_min = rps * _STEP_S

    def labels(code: str) -> Labels:
        return _with(**{names.LABEL_ENVIRONMENT: env, names.LABEL_HTTP_METHOD: "GET",
                        names.LABEL_HTTP_ROUTE: "/contacts", names.LABEL_HTTP_STATUS: code})

    return ((_REQUESTS, labels("200"), per_min * (1 - ratio)),
            (_REQUESTS, labels("500"), per_min * ratio))


def _round(value: float, ok: Callable[[float], bool]) -> float:
    """``value`` with the fewest significant digits that still satisfies ``ok``.

    Prometheus computes the alert value its own way; a short number keeps both
    sides of the ``%.4g`` formatting away from a rounding edge.
    """
    for digits in range(1, 16):
        rounded = float(f"{value:.{digits}g}")
        if ok(rounded):
            return rounded
    return value


def _above(threshold: float, value: float) -> float:
    return _round(value, lambda v: threshold < v <= 1.0)


def _ratio_scenarios(threshold: float, min_rps: float, window: str) -> list[Scenario]:
    rps = max(10.0, 2 * min_rps)
    high = _above(threshold, min(2 * threshold, (1 + threshold) / 2))
    out = _keep(_BASE, _SERVICE_KEYS)
    return [
        Scenario("fires above the threshold", _requests(high, rps), True, ((out, high),),
                 warmup=duration_seconds(window)),
        Scenario("silent below the threshold", _requests(threshold / 2, rps), True),
        Scenario("silent without traffic (no NaN)", _requests(0.5, 0.0), True),
    ]


def _le(bound: float) -> str:
    """The ``le`` text prometheus_client writes (``1.0``, ``+Inf``)."""
    return str(floatToGoString(bound))  # type: ignore[no-untyped-call]  # untyped in the client


def _latency_scenarios(c: AlertConfig) -> list[Scenario]:
    bounds = sorted(c.http_buckets)
    lo = min(b for b in bounds if b >= c.response_time_p95_s)
    # All requests in (lo, hi]: p95 interpolates to lo + 0.95 * (hi - lo) > threshold;
    # past the last finite bound histogram_quantile answers that bound.
    hi = next((b for b in bounds if b > lo), math.inf)
    p95 = lo if math.isinf(hi) else lo + 0.95 * (hi - lo)

    def histogram(slow_from: float, rps: float) -> Series:
        return tuple(
            (_BUCKETS, _with(**{names.LABEL_LE: _le(b)}),
             rps * _STEP_S if b >= slow_from else 0.0)
            for b in (*bounds, math.inf)
        )

    out = _keep(_BASE, _SERVICE_KEYS)
    return [
        Scenario("fires when p95 is slow", histogram(hi, 5.0), True, ((out, p95),)),
        Scenario("silent when p95 is fast", histogram(bounds[0], 5.0), True),
        Scenario("silent without traffic (no NaN)", histogram(bounds[0], 0.0), False),
    ]


def _gauge_ratio(part: str, whole: str, threshold: float, keys: tuple[str, ...],
                 whole_value: float) -> list[Scenario]:
    high = _above(threshold, (1 + threshold) / 2)

    def pair(used: float, limit: float) -> Series:
        return ((part, dict(_BASE), used), (whole, dict(_BASE), limit))

    return [
        Scenario("fires above the threshold", pair(whole_value * high, whole_value), False,
                 ((_keep(_BASE, keys), high),)),
        Scenario("silent below the threshold", pair(whole_value * threshold / 2, whole_value),
                 False),
        Scenario("silent when the limit is unknown (0)", pair(whole_value, 0.0), False),
    ]


def scenarios(rule: AlertRule, c: AlertConfig) -> list[Scenario]:
    """What the suite for ``rule`` feeds promtool and expects back."""
    if rule.name == names.ALERT_HIGH_ERROR_RATE:
        return _ratio_scenarios(c.error_ratio, c.ratio_min_rps, c.error_window)
    if rule.name == names.ALERT_ERROR_RATE_SLA:
        return _ratio_scenarios(c.sla_error_ratio, c.ratio_min_rps, c.sla_error_window)
    if rule.name == names.ALERT_HIGH_RESPONSE_TIME:
        return _latency_scenarios(c)
    if rule.name == names.ALERT_SERVICE_DOWN:
        up = _keep(_BASE, _TARGET_KEYS)
        return [
            Scenario("fires when the target cannot be scraped",
                     ((names.SCRAPE_UP, up, 0.0),), False, ((up, 0.0),)),
            Scenario("silent while scrapes succeed", ((names.SCRAPE_UP, up, 1.0),), False),
        ]
    if rule.name == names.ALERT_HIGH_MEMORY:
        return _gauge_ratio(names.PROCESS_RESIDENT_MEMORY, names.PROCESS_MEMORY_LIMIT,
                            c.memory_ratio, _TARGET_KEYS, 1e9)
    if rule.name == names.ALERT_DB_POOL_EXHAUSTED:
        return _gauge_ratio(names.DB_POOL_CONNECTIONS_IN_USE, names.DB_POOL_CONNECTIONS_MAX,
                            c.db_pool_ratio, _INSTANCE_KEYS, 20.0)
    if rule.name == names.ALERT_THROUGHPUT_FLOOR:
        env = c.throughput_environments[0]
        low = _round(c.throughput_floor_rps / 10, lambda v: 0 < v < c.throughput_floor_rps)
        out = {names.LABEL_APPLICATION: names.DEFAULT_APPLICATION, names.LABEL_ENVIRONMENT: env}
        return [
            Scenario("fires below the floor", _requests(0.0, low, env), True, ((out, low),)),
            Scenario("silent above the floor",
                     _requests(0.0, 2 * c.throughput_floor_rps, env), True),
            Scenario("silent in an environment without a floor",
                     _requests(0.0, low, "development-idle"), True),
        ]
    if rule.name == names.ALERT_READINESS_FAILING:

        def group(name: str, status: float) -> tuple[str, Labels, float]:
            return names.HEALTH_GROUP_STATUS, _with(**{names.LABEL_GROUP: name}), status

        liveness = names.HEALTH_GROUPS[0]
        return [
            Scenario("fires when readiness is DOWN",
                     (group(names.READINESS_GROUP, 0.0), group(liveness, 1.0)), False,
                     ((_keep(_BASE, _INSTANCE_KEYS), 0.0),)),
            Scenario("silent when only liveness is DOWN",
                     (group(names.READINESS_GROUP, 1.0), group(liveness, 0.0)), False),
        ]
    raise ValueError(f"{rule.name}: no promtool scenarios defined")


def _minutes(seconds: int) -> str:
    return f"{seconds // 60}m"


def suite(rule: AlertRule, c: AlertConfig, rule_file: str) -> dict[str, Any]:
    """One promtool test file (as data) for ``rule``."""
    hold = duration_seconds(rule.for_)
    tests = []
    for sc in scenarios(rule, c):
        fire_at = sc.warmup + hold + 5 * _STEP_S
        samples = fire_at // _STEP_S + 5
        start = "0+" if sc.counters else ""  # counters grow by v a minute; gauges stay at v
        series = [
            {"series": _series_text(metric, labels), "values": f"{start}{_num(v)}x{samples}"}
            for metric, labels, v in sc.series
        ]
        expected = [
            {"exp_labels": {**out, **rule.labels},
             "exp_annotations": {
                 "summary": expand(rule.summary, out, value),
                 "description": expand(rule.description, out, value),
                 "runbook_url": rule.runbook_url}}
            for out, value in sc.fires
        ]
        checks: list[dict[str, Any]] = []
        if expected:  # still pending one step before `for` has passed
            checks.append({"eval_time": _minutes(max(0, hold - _STEP_S)),
                           "alertname": rule.name, "exp_alerts": []})
        checks.append({"eval_time": _minutes(fire_at), "alertname": rule.name,
                       "exp_alerts": expected})
        tests.append({"name": f"{rule.name} {sc.name}", "interval": _minutes(_STEP_S),
                      "input_series": series, "alert_rule_test": checks})
    return {"rule_files": [rule_file], "evaluation_interval": _minutes(_STEP_S), "tests": tests}


def suite_file_name(rule: AlertRule) -> str:
    """``HighErrorRate`` -> ``high-error-rate.test.yml``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "-", rule.name).lower() + ".test.yml"


def promtool_suites(config: AlertConfig | None = None) -> dict[str, str]:
    """Repository path -> rendered promtool suite, one per platform alert."""
    c = config or AlertConfig()
    tests_dir = PurePosixPath(names.ALERT_TESTS_DIR)
    rules = PurePosixPath(names.PLATFORM_RULES_FILE)
    # promtool resolves rule_files relative to the test file.
    rel = "../" * len(tests_dir.relative_to(rules.parent).parts) + rules.name
    return {
        str(tests_dir / suite_file_name(rule)): render_yaml(
            suite(rule, c, rel),
            header=f"promtool test rules for {rule.name} (crm_observability/generators/"
                   "alerts_tests.py)",
        )
        for rule in platform_alerts(c)
    }
