"""Benchmark: ``crm-obs slo report`` over 50 SLOs against a local Prometheus (target < 2 s).

    .venv/bin/python -m bench.bench_report [--runs 5] [--slos 50]

Starts a real Prometheus (``/usr/bin/prometheus``) scraping a real
prometheus_client exporter every second, with the generated rules of 50 SLOs
(10 services x 5 SLOs, events and latency SLIs).  After the rules have data it
times ``build_report`` (median of ``--runs``) in three cases:

* rules: every number from the recording rules (the normal case);
* rules + charts: the same with the HTML charts' range queries;
* raw: 50 other SLOs over the same metrics whose rules are not loaded, so every
  window falls back to the raw SLI queries (history older than the rules).

Exit status 1 when the rules case is over the 2 s target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram, start_http_server

from crm_observability import conventions as c
from crm_observability.demo.stack import prometheus_config, start_prometheus
from crm_observability.demo.supervisor import Supervisor, free_port
from crm_observability.generators.slo_rules import render_rule_file
from crm_observability.report import PrometheusClient, build_report
from crm_observability.slo import SLOSpec, parse_spec

TARGET_S = 2.0
H = c.HTTP_SERVER_DURATION
W = "{{window}}"


def spec_text(service: str, per_service: int) -> str:
    slos = []
    for i in range(per_service):
        if i % 2 == 0:
            sli = (f"      events:\n"
                   f"        error_query: sum(rate({H}_count{{service=\"{service}\","
                   f"{c.LABEL_HTTP_STATUS}=~\"5..\"}}[{W}]))\n"
                   f"        total_query: sum(rate({H}_count{{service=\"{service}\"}}[{W}]))\n")
        else:
            sli = (f"      latency:\n        histogram: {H}\n"
                   f"        selector: {{service: {service}}}\n        threshold: 0.5\n")
        slos.append(f"  - name: slo-{i}\n    objective: 99.{i}\n    sli:\n{sli}")
    return (f"apiVersion: crm-observability/v1\nkind: SLOSpec\nservice: {service}\n"
            "slos:\n" + "".join(slos))


def build_specs(prefix: str, services: int, per_service: int) -> list[SLOSpec]:
    return [parse_spec(spec_text(f"{prefix}-{n}", per_service), f"{prefix}-{n}.slo.yml")
            for n in range(services)]


def timed(runs: int, action: object) -> float:
    assert callable(action)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--slos", type=int, default=50, help="a multiple of 5")
    args = parser.parse_args()
    services = max(args.slos // 5, 1)
    live = build_specs("svc", services, 5)
    cold = build_specs("cold", services, 5)  # same metrics, rules not loaded

    registry = CollectorRegistry()
    hist = Histogram(H, "requests", ["service", c.LABEL_HTTP_STATUS], registry=registry)
    port = free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def traffic() -> None:
        while not stop.wait(0.1):
            for prefix in ("svc", "cold"):
                for n in range(services):
                    hist.labels(f"{prefix}-{n}", "200").observe(0.1)
                    hist.labels(f"{prefix}-{n}", "500" if n % 3 == 0 else "200").observe(0.7)

    threading.Thread(target=traffic, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp, Supervisor(Path(tmp) / "logs") as supervisor:
        rules = []
        for spec in live:
            path = Path(tmp) / f"{spec.service}.rules.yml"
            path.write_text(render_rule_file(spec))
            rules.append(str(path))
        config = prometheus_config({"bench": [f"127.0.0.1:{port}"]}, rule_files=rules,
                                   interval="1s")
        _, url = start_prometheus(supervisor, config, Path(tmp))
        client = PrometheusClient(url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until every SLO's 5m rule has data
            ratio = client.query(c.slo_error_ratio_rule("5m"), time.time())
            if len(ratio) >= len(live) * 5:
                break
            time.sleep(0.5)
        n = sum(len(s.slos) for s in live)
        report = build_report(client, live)
        sources = {w.source for _, g in report.groups() for w in g.windows}
        results = {
            "rules": timed(args.runs, lambda: build_report(client, live)),
            "rules + charts": timed(args.runs, lambda: build_report(
                client, live, with_history=True)),
            "raw": timed(args.runs, lambda: build_report(client, cold)),
        }
        client.close()
    stop.set()
    server.shutdown()
    print(f"report over {n} SLOs against {url} (sources in the rules case: "
          f"{', '.join(sorted(sources))}); median of {args.runs} runs:")
    for name, seconds in results.items():
        print(f"  {name:15s} {seconds:6.3f} s")
    ok = results["rules"] < TARGET_S
    print(f"target < {TARGET_S:g} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
