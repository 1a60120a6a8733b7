"""Generator of ``promtool test rules`` suites proving the burn-rate alerts behave.

For a synthetic SLO (events SLI over the library's HTTP histogram count, service
``slo-test``) with any objective and period, each tier gets input series that:

* burn slightly above the tier's rate after a clean baseline: the alert must be
  pending/firing within the Workbook detection time
  ``(1 - objective) / error_ratio * long_window * factor`` plus ``for`` (plus one
  sample interval, the resolution of the test), and at steady state carry its
  labels and annotations (with the burn rate value);
* burn slightly under the factor: the alert stays silent;
* burn hard, then stop: the alert clears within the short window (plus ``for``);

plus zero traffic (no alert, no ratio series: no NaN), a missing error series
(ratio 0), absent SLI data (the absent alert fires) and request-weighted period
ratios.  Sample intervals grow with the tier's short window so 30-day suites
stay quick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.promtool_series import (
    COUNT_METRIC,
    REQUESTS_PER_STEP,
    counter,
    exact,
    metric_text,
    series,
    traffic,
)
from crm_observability.generators.slo_rules import alert_name, rule_labels
from crm_observability.slo.durations import format_duration, parse_duration
from crm_observability.slo.model import (
    SLO,
    Alerting,
    EventsSLI,
    SLOSpec,
    TierAlerting,
)
from crm_observability.slo.windows import BurnRateTier, tiers_for

TEST_SERVICE = "slo-test"
TEST_SLO = "availability"
ABOVE = Decimal("1.05")  # "burns at the tier's rate": 5% over the factor
UNDER = Decimal("0.95")  # "just under": 5% below
_INTERVALS = (60, 120, 300, 600, 900, 1800, 3600)
_CLEAN = Decimal(0)


def synthetic_spec(
    objective: Decimal | str,
    period_seconds: int,
    *,
    page_for: int = 120,
    ticket_for: int = 900,
    min_events: int | None = None,
) -> SLOSpec:
    """A one-SLO spec whose input series the suite knows how to write."""
    sel = f'{names.LABEL_SERVICE}="{TEST_SERVICE}"'
    errors = f'{COUNT_METRIC}{{{sel},{names.LABEL_HTTP_STATUS}=~"5.."}}'
    slo = SLO(
        name=TEST_SLO,
        objective=Decimal(objective),
        period_seconds=period_seconds,
        sli=EventsSLI(
            error_query=f"sum(rate({errors}[{{{{window}}}}]))",
            total_query=f"sum(rate({COUNT_METRIC}{{{sel}}}[{{{{window}}}}]))",
        ),
        alerting=Alerting(
            page=TierAlerting(for_seconds=page_for),
            ticket=TierAlerting(for_seconds=ticket_for),
            min_events=min_events,
        ),
    )
    return SLOSpec(service=TEST_SERVICE, slos=(slo,), source="synthetic.slo.yml")


def build_test_suites(spec: SLOSpec, rule_files: Sequence[str]) -> dict[str, dict[str, Any]]:
    """promtool test files (as data) for a :func:`synthetic_spec` spec, one per interval.

    promtool evaluates rules at one ``evaluation_interval`` per file, so tests are
    grouped by their sample interval: a 3-day window is then checked every 15
    minutes, not every minute.  Keys are the interval text (``1m``, ``15m``...).
    """
    if spec.service != TEST_SERVICE or len(spec.slos) != 1:
        raise ValueError("build_test_suites needs a spec made by synthetic_spec()")
    slo = spec.slos[0]
    tests: list[dict[str, Any]] = []
    for tier in tiers_for(slo.period_seconds):
        tests.append(_fire(spec, slo, tier))
        tests.append(_silent(spec, slo, tier))
        tests.append(_clears(spec, slo, tier))
        if slo.alerting.min_events is not None:
            tests.append(_low_traffic(spec, slo, tier))
    tests.extend((_zero_traffic(spec, slo), _no_error_series(spec, slo), _absent(spec, slo),
                  _weighted_period(spec, slo)))
    suites: dict[str, dict[str, Any]] = {}
    for test in tests:
        interval = test["interval"]
        suite = suites.setdefault(interval, {"rule_files": list(rule_files),
                                             "evaluation_interval": interval, "tests": []})
        suite["tests"].append(test)
    return dict(sorted(suites.items(), key=lambda item: parse_duration(item[0])))


# --- scenarios ------------------------------------------------------------------


def _fire(spec: SLOSpec, slo: SLO, tier: BurnRateTier) -> dict[str, Any]:
    step = _interval(tier)
    baseline = _baseline(tier, step)
    ratio = _ratio(slo, tier, ABOVE)
    wait = _for(slo, tier)
    # Workbook detection time for this error ratio, then `for`, then one sample.
    detect = float(slo.error_budget / ratio) * tier.long_window * float(tier.factor)
    deadline = baseline + _steps(detect + wait, step) + 1
    steady = baseline + _steps(tier.long_window + wait, step) + 2
    good, bad = traffic(TEST_SERVICE, [(_CLEAN, baseline), (ratio, steady - baseline)])
    name = alert_name(tier)
    value = float(ratio / slo.error_budget)
    checks = [_alerts_query(spec, slo, name, deadline, step)]
    silent_before = {"eval_time": _at(baseline, step), "alertname": name, "exp_alerts": []}
    if not 1 <= value < 1000:  # %.4g is Go's humanize only in [1, 1000)
        return {"name": f"{name}: fires within the detection time",
                "interval": format_duration(step), "input_series": [good, bad],
                "alert_rule_test": [silent_before],
                "promql_expr_test": [*checks, _alerts_query(spec, slo, name, steady, step)]}
    return {
        "name": f"{name}: fires within the detection time",
        "interval": format_duration(step),
        "input_series": [good, bad],
        "alert_rule_test": [
            silent_before,
            # At steady state: every label and annotation, with the burn rate value.
            {"eval_time": _at(steady, step), "alertname": name,
             "exp_alerts": [_expected(spec, slo, tier, value)]},
        ],
        "promql_expr_test": checks,
    }


def _silent(spec: SLOSpec, slo: SLO, tier: BurnRateTier) -> dict[str, Any]:
    step = _interval(tier)
    baseline = _baseline(tier, step)
    end = baseline + _steps(tier.long_window + _for(slo, tier), step) + 2
    under = _ratio(slo, tier, UNDER)
    good, bad = traffic(TEST_SERVICE, [(_CLEAN, baseline), (under, end - baseline)])
    name = alert_name(tier)
    return {
        "name": f"{name}: silent just under the factor",
        "interval": format_duration(step),
        "input_series": [good, bad],
        "alert_rule_test": [
            {"eval_time": _at(t, step), "alertname": name, "exp_alerts": []}
            for t in (baseline + (end - baseline) // 2, end)
        ],
    }


def _clears(spec: SLOSpec, slo: SLO, tier: BurnRateTier) -> dict[str, Any]:
    step = _interval(tier)
    baseline = _baseline(tier, step)
    ratio = _ratio(slo, tier, Decimal(2))
    detect = float(slo.error_budget / ratio) * tier.long_window * float(tier.factor)
    stop = baseline + _steps(detect + _for(slo, tier), step) + 1
    # Checked no later than short window + `for` after the last error.
    cleared = stop + (tier.short_window + _for(slo, tier)) // step
    good, bad = traffic(TEST_SERVICE, [(_CLEAN, baseline), (ratio, stop - baseline),
                                (Decimal(0), cleared - stop + 1)])
    name = alert_name(tier)
    return {
        "name": f"{name}: clears within the short window after errors stop",
        "interval": format_duration(step),
        "input_series": [good, bad],
        "alert_rule_test": [{"eval_time": _at(cleared, step), "alertname": name,
                             "exp_alerts": []}],
        "promql_expr_test": [_alerts_query(spec, slo, name, stop, step)],
    }


def _low_traffic(spec: SLOSpec, slo: SLO, tier: BurnRateTier) -> dict[str, Any]:
    step = _interval(tier)
    baseline = _baseline(tier, step)
    end = baseline + _steps(tier.long_window + _for(slo, tier), step) + 2
    assert slo.alerting.min_events is not None
    # A quarter of the guard's events per long window, every one of them an error.
    per_step = max(Decimal(1), Decimal(slo.alerting.min_events) * step / tier.long_window / 4)
    good, bad = traffic(TEST_SERVICE, [(_CLEAN, baseline), (Decimal(1), end - baseline)], per_step)
    name = alert_name(tier)
    return {
        "name": f"{name}: silent under the minimum-events guard",
        "interval": format_duration(step),
        "input_series": [good, bad],
        "alert_rule_test": [{"eval_time": _at(end, step), "alertname": name, "exp_alerts": []}],
    }


def _zero_traffic(spec: SLOSpec, slo: SLO) -> dict[str, Any]:
    good, bad = traffic(TEST_SERVICE, [(Decimal(0), 70)], Decimal(0))
    sel = _selector(spec, slo)
    return {
        "name": "zero traffic: no alert, no ratio series (no NaN)",
        "interval": "1m",
        "input_series": [good, bad],
        "alert_rule_test": [
            {"eval_time": "70m", "alertname": name, "exp_alerts": []}
            for name in [*(alert_name(t) for t in tiers_for(slo.period_seconds)),
                         names.SLO_ABSENT_ALERT]
        ],
        "promql_expr_test": [
            {"expr": f"{rule}{sel}", "eval_time": "70m", "exp_samples": []}
            for rule in (names.slo_error_ratio_rule("5m"), names.SLO_CURRENT_BURN_RULE,
                         names.SLO_PERIOD_BURN_RULE,
                         names.slo_error_ratio_rule(format_duration(slo.period_seconds)))
        ] + [{"expr": f"{names.SLO_TOTAL_RATE_RULE.format(window='5m')}{sel}",
              "eval_time": "70m",
              "exp_samples": [{"labels": metric_text(names.SLO_TOTAL_RATE_RULE.format(window="5m"),
                                                 _base(spec, slo)), "value": 0}]}],
    }


def _no_error_series(spec: SLOSpec, slo: SLO) -> dict[str, Any]:
    good, _ = traffic(TEST_SERVICE, [(Decimal(0), 30)])
    rule = names.slo_error_ratio_rule("5m")
    return {
        "name": "no error series yet: the error ratio is 0, not missing",
        "interval": "1m",
        "input_series": [good],
        "promql_expr_test": [{"expr": f"{rule}{_selector(spec, slo)}", "eval_time": "30m",
                              "exp_samples": [{"labels": metric_text(rule, rule_labels(spec, slo)),
                                               "value": 0}]}],
    }


def _absent(spec: SLOSpec, slo: SLO) -> dict[str, Any]:
    good, bad = traffic(TEST_SERVICE, [(Decimal("0.01"), 30)])
    good["values"] += " stale"
    bad["values"] += " stale"
    # Last sample at 30m: the 5m rate needs two samples, so it is gone from 34m;
    # the alert is pending from then and fires after `for` (checked 2m later).
    wait = _steps(slo.alerting.absent_for_seconds or 0, 60)
    labels = {**rule_labels(spec, slo), names.LABEL_SEVERITY: "ticket"}
    alerts = f'ALERTS{{alertname="{names.SLO_ABSENT_ALERT}",alertstate="firing"}}'
    return {
        "name": "absent SLI data fires the absent alert",
        "interval": "1m",
        "input_series": [good, bad],
        "promql_expr_test": [
            {"expr": alerts, "eval_time": "20m", "exp_samples": []},
            {"expr": alerts, "eval_time": _at(36 + wait, 60), "exp_samples": [
                {"labels": metric_text("ALERTS", {"alertname": names.SLO_ABSENT_ALERT,
                                              "alertstate": "firing", **labels}), "value": 1}]},
        ],
    }


def _weighted_period(spec: SLOSpec, slo: SLO) -> dict[str, Any]:
    # An hour of heavy clean traffic, then an hour of light traffic that all fails:
    # requests-weighted ratio ~ 1%, an average of 5m ratios would say ~50%.
    good = series(TEST_SERVICE, "200", counter([(Decimal(1000), 60), (Decimal(0), 60)]))
    bad = series(TEST_SERVICE, "500", counter([(Decimal(0), 60), (Decimal(10), 60)]))
    rule = names.slo_error_ratio_rule(format_duration(slo.period_seconds))
    sel = _selector(spec, slo)
    return {
        "name": "period ratio is weighted by requests (Sloth #241)",
        "interval": "1m",
        "input_series": [good, bad],
        "promql_expr_test": [{
            "expr": f"({rule}{sel} > bool 0.005) * ({rule}{sel} < bool 0.02)",
            "eval_time": "2h",
            "exp_samples": [{"labels": metric_text("", rule_labels(spec, slo)), "value": 1}],
        }],
    }


# --- helpers ----------------------------------------------------------------------


def _interval(tier: BurnRateTier) -> int:
    """Largest sample interval giving at least 5 samples per short window."""
    return max(i for i in _INTERVALS if i <= tier.short_window / 5 or i == _INTERVALS[0])


def _for(slo: SLO, tier: BurnRateTier) -> int:
    return slo.tier_settings(tier).for_seconds or 0


def _baseline(tier: BurnRateTier, step: int) -> int:
    """Clean traffic for a whole long window before the errors start."""
    return _steps(tier.long_window, step) + 1


def _ratio(slo: SLO, tier: BurnRateTier, scale: Decimal) -> Decimal:
    """Error ratio ``scale`` x the tier's threshold, as sent (binary-exact errors per step)."""
    ratio = min(Decimal(1), tier.threshold(slo.objective) * scale)
    return exact(REQUESTS_PER_STEP * ratio) / REQUESTS_PER_STEP


def _steps(seconds: float, step: int) -> int:
    return math.ceil(seconds / step)


def _at(steps: int, step: int) -> str:
    return format_duration(steps * step) if steps else "0s"


def _selector(spec: SLOSpec, slo: SLO) -> str:
    return f'{{{names.LABEL_SERVICE}="{spec.service}",{names.LABEL_SLO}="{slo.name}"}}'


def _base(spec: SLOSpec, slo: SLO) -> dict[str, str]:
    return {names.LABEL_SERVICE: spec.service, names.LABEL_SLO: slo.name}


def _alert_labels(spec: SLOSpec, slo: SLO, tier: BurnRateTier) -> dict[str, str]:
    return {**rule_labels(spec, slo), names.LABEL_SEVERITY: tier.name,
            names.LABEL_LONG_WINDOW: tier.long_window_text,
            names.LABEL_SHORT_WINDOW: tier.short_window_text}


def _alerts_query(spec: SLOSpec, slo: SLO, name: str, steps: int, step: int) -> dict[str, Any]:
    """Expect alert ``name`` firing at ``steps`` samples (ALERTS omits annotations)."""
    tier = next(t for t in tiers_for(slo.period_seconds) if alert_name(t) == name)
    labels = {"alertname": name, "alertstate": "firing", **_alert_labels(spec, slo, tier)}
    return {
        "expr": f'ALERTS{{alertname="{name}",alertstate="firing"}}',
        "eval_time": _at(steps, step),
        "exp_samples": [{"labels": metric_text("ALERTS", labels), "value": 1}],
    }


def _expected(spec: SLOSpec, slo: SLO, tier: BurnRateTier, value: float) -> dict[str, Any]:
    from crm_observability.generators.slo_rules import alert_rules

    rule = next(r for r in alert_rules(spec, slo) if r["alert"] == alert_name(tier))
    # Go's humanize for 1 <= |v| < 1000 is %.4g, which Python's %g matches.
    humanized = f"{value:.4g}"
    annotations = {k: v.replace("{{ $value | humanize }}", humanized)
                   for k, v in rule["annotations"].items()}
    return {"exp_labels": _alert_labels(spec, slo, tier), "exp_annotations": annotations}
