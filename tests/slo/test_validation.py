"""Every bad spec is exit 2 with one line naming the file, the field path and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_observability.cli import main
from crm_observability.slo import SpecError, load_spec_file, load_spec_files

EVENTS = (
    "      events:\n"
    '        error_query: sum(rate(x_total{code=~"5.."}[{{window}}]))\n'
    "        total_query: sum(rate(x_total[{{window}}]))\n"
)


def v1(slos: str, head: str = "") -> str:
    return ("apiVersion: crm-observability/v1\nkind: SLOSpec\nservice: svc\n" + head
            + "slos:\n" + slos)


def slo(name: str = "a", objective: str = "99.9", sli: str = EVENTS, extra: str = "") -> str:
    return f"  - name: {name}\n    objective: {objective}\n    sli:\n{sli}{extra}"


LATENCY = ("      latency:\n        histogram: http_server_request_duration_seconds\n"
           "        selector: {service: svc}\n        threshold: 0.3\n")
SLOTH = ('version: "prometheus/v1"\nservice: svc\nslos:\n  - name: a\n    objective: 99.9\n'
         "    sli:\n")
OPENSLO = """apiVersion: openslo/v1
kind: SLO
metadata: {name: a}
spec:
  service: svc
  indicator:
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'x_total{code="500"}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: x_total}}}
  objectives:
    - target: TARGET
"""

CASES = {
    # the list
    "objective-zero": (v1(slo(objective="0")), "slos[0].objective", "strictly between 0 and 100"),
    "objective-100": (v1(slo(objective="100")), "slos[0].objective", "strictly between"),
    "objective-negative": (v1(slo(objective="-5")), "slos[0].objective", "strictly between"),
    "duplicate-name": (v1(slo() + slo()), "slos[1].name", "duplicate SLO name 'a'"),
    "no-window": (v1(slo(sli=EVENTS.replace("[{{window}}]))\n        total", "[5m]))\n"
                                            "        total"))),
                  "slos[0].sli.events.error_query", "no {{window}} placeholder"),
    "bad-promql": (v1(slo(sli=EVENTS.replace("x_total[{{window}}]))", "x_total[{{window}}])"))),
                   "slos[0].sli.events.total_query", "PromQL does not parse"),
    "impossible-alert": (v1(slo(objective="90")), "slos[0].alerting.page",
                         "impossible alert: burn factor 14.4 over 1h x error budget 0.1"),
    "threshold-not-bucket": (v1(slo(sli=LATENCY)), "slos[0].sli.latency.threshold",
                             "not a bucket boundary"),
    "threshold-not-declared-bucket": (
        v1(slo(sli=LATENCY.replace("0.3\n", "2\n        buckets: [1, 2.5]\n"))),
        "slos[0].sli.latency.threshold", "(1, 2.5)"),
    # structure and types
    "yaml": ("slos: [\n", "line 2", "invalid YAML"),
    "empty": ("", "", "is empty"),
    "not-mapping": ("- a\n", "", "must be a mapping"),
    "unknown-format": ("apiVersion: v9\n", "apiVersion", "unknown format 'v9'"),
    "wrong-kind": ("apiVersion: crm-observability/v1\nkind: Nope\n", "kind", "must be SLOSpec"),
    "missing-service": ("apiVersion: crm-observability/v1\nkind: SLOSpec\nslos: []\n", "service",
                        "is required"),
    "empty-slos": (v1("").replace("slos:\n", "slos: []\n"), "slos", "non-empty list"),
    "unknown-field": (v1(slo(extra="    objectiv: 99\n")), "slos[0].objectiv", "unknown field"),
    "objective-text": (v1(slo(objective="high")), "slos[0].objective", "must be a number"),
    "objective-list": (v1(slo(objective="[1]")), "slos[0].objective", "must be a number"),
    "bad-name": (v1(slo(name="Bad_Name")), "slos[0].name", "[a-z0-9-]+"),
    "bad-period": (v1(slo(extra="    period: 30 days\n")), "slos[0].period", "not a duration"),
    "short-period": (v1(slo(extra="    period: 12h\n")), "slos[0].period", "at least 1d"),
    "two-sli-kinds": (v1(slo(sli=EVENTS + "      raw: {error_ratio_query: x}\n")),
                      "slos[0].sli", "exactly one of events, latency, raw"),
    "bad-for": (v1(slo(extra="    alerting:\n      page: {for: soon}\n")),
                "slos[0].alerting.page.for", "not a duration"),
    "bad-disabled": (v1(slo(extra="    alerting:\n      page: {disabled: maybe}\n")),
                     "slos[0].alerting.page.disabled", "true or false"),
    "bad-disabled-list": (v1(slo(extra="    alerting:\n      page: {disabled: [quick]}\n")),
                          "slos[0].alerting.page.disabled", "list of fast/slow"),
    "bad-min-events": (v1(slo(extra="    alerting:\n      min_events: 0\n")),
                       "slos[0].alerting.min_events", "positive whole number"),
    "raw-min-events": (v1(slo(sli="      raw: {error_ratio_query: 'x[{{window}}]'}\n",
                              extra="    alerting:\n      min_events: 5\n")),
                       "slos[0].alerting.min_events", "needs an events or latency SLI"),
    "reserved-label": (v1(slo(), head="labels: {severity: low}\n"), "labels.severity",
                       "cannot be overridden"),
    "bad-label-name": (v1(slo(), head="labels: {bad-name: x}\n"), "labels.bad-name",
                       "not a valid Prometheus label name"),
    "label-value-type": (v1(slo(), head="labels: {team: [a]}\n"), "labels.team",
                         "must be a string"),
    "bad-service": (v1(slo()).replace("service: svc", "service: a/b"), "service",
                    "names the rule file"),
    "bad-histogram": (v1(slo(sli=LATENCY.replace("http_server_request_duration_seconds",
                                                 "9bad"))), "slos[0].sli.latency.histogram",
                      "not a metric name"),
    "le-selector": (v1(slo(sli=LATENCY.replace("{service: svc}", "{le: '1'}"))),
                    "slos[0].sli.latency.selector.le", "not a usable label name"),
    "zero-threshold": (v1(slo(sli=LATENCY.replace("0.3", "0"))),
                       "slos[0].sli.latency.threshold", "more than 0"),
    "bad-bucket": (v1(slo(sli=LATENCY.replace("0.3\n", "0.5\n        buckets: [0.5, x]\n"))),
                   "slos[0].sli.latency.buckets[1]", "must be a number"),
    "empty-buckets": (v1(slo(sli=LATENCY.replace("0.3\n", "0.5\n        buckets: []\n"))),
                      "slos[0].sli.latency.buckets", "non-empty list"),
    # Sloth
    "sloth-no-window": (SLOTH + "      events:\n        error_query: sum(rate(x[5m]))\n"
                        "        total_query: sum(rate(x[{{.window}}]))\n",
                        "slos[0].sli.events.error_query", "{{window}}"),
    "sloth-plugin": (SLOTH + "      plugin: {id: x}\n", "slos[0].sli.plugin", "not supported"),
    "sloth-impossible": (SLOTH.replace("99.9", "90") + EVENTS.replace("{{window}}",
                                                                      "{{.window}}"),
                         "slos[0].alerting.page_alert", "impossible alert"),
    "sloth-disable-type": (SLOTH + EVENTS + "    alerting:\n      ticket_alert: {disable: 1}\n",
                           "slos[0].alerting.ticket_alert.disable", "true or false"),
    "sloth-neither": (SLOTH + "      {}\n", "slos[0].sli", "exactly one of events, raw"),
    # OpenSLO
    "openslo-target": (OPENSLO.replace("TARGET", "1.5"), "spec.objectives[0].target",
                       "strictly between 0 and 100"),
    "openslo-source": (OPENSLO.replace("TARGET", "0.99").replace("type: Prometheus, spec: "
                                                                 "{query: x_total}",
                                                                 "type: Datadog, spec: {}"),
                       "spec.indicator.spec.ratioMetric.total.metricSource.type",
                       "must be Prometheus"),
    "openslo-ref": (OPENSLO.replace("  indicator:\n", "  indicatorRef: x\n  indicator:\n"),
                    "spec.indicatorRef", "only inline indicators"),
    "openslo-two-objectives": (OPENSLO.replace("TARGET", "0.9\n    - target: 0.99"),
                               "spec.objectives", "exactly one objective"),
    "openslo-window": (OPENSLO.replace("TARGET", "0.99") + "  timeWindow: [{duration: 1w, "
                       "isRolling: false}]\n", "spec.timeWindow[0].isRolling",
                       "only rolling windows"),
    "openslo-kind": (OPENSLO.replace("TARGET", "0.99").replace("kind: SLO", "kind: SLI"),
                     "kind", "only openslo/v1 kind SLO"),
    "openslo-two-services": (OPENSLO.replace("TARGET", "0.99") + "---\n"
                             + OPENSLO.replace("TARGET", "0.99").replace("service: svc",
                                                                         "service: other"),
                             "[1].spec.service", "one service per file"),
    "openslo-label": (OPENSLO.replace("TARGET", "0.99").replace("metadata: {name: a}",
                                                                "metadata: {name: a, labels: "
                                                                "{team: [x, y]}}"),
                      "metadata.labels.team", "one string value"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec_is_one_line_exit_2(case: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    text, field, reason = CASES[case]
    spec = tmp_path / f"{case}.yml"
    spec.write_text(text)
    for command in (["slo", "validate"], ["slo", "generate", "--out", str(tmp_path / "out")]):
        assert main([*command, str(spec)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(f"crm-obs: {spec}: "), err
        if field:
            assert f": {field}: " in err, err
        assert reason in err, err
        assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_spec_error_fields() -> None:
    error = SpecError("f.yml", "slos[0].objective", "too high")
    assert (error.file, error.field, error.reason) == ("f.yml", "slos[0].objective", "too high")
    assert str(error) == "f.yml: slos[0].objective: too high"
    assert str(SpecError("f.yml", "", "is empty")) == "f.yml: is empty"


def test_unreadable_and_duplicate_service_files(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slo", "validate", str(tmp_path / "missing.yml")]) == 2
    assert "missing.yml: cannot read: No such file or directory" in capsys.readouterr().err
    one, two = tmp_path / "one.yml", tmp_path / "two.yml"
    one.write_text(v1(slo()))
    two.write_text(v1(slo(name="b")))
    with pytest.raises(SpecError, match=r"'svc' is already defined in .*one\.yml"):
        load_spec_files([one, two])
    (tmp_path / "bin.yml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="cannot read"):
        load_spec_file(tmp_path / "bin.yml")
