"""Benchmark: validate and generate rule files for 1,000 SLOs (target < 2 s).

Run from the repository root::

    .venv/bin/python -m bench.bench_slo [--slos 1000] [--runs 5]

Prints the median wall and CPU time of the runs; each run parses spec text
(YAML), validates it (PromQL parsed) and renders every rule file.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import yaml

from crm_observability.generators.slo_rules import render_rule_file
from crm_observability.slo import parse_spec, validate

SLOS_PER_SERVICE = 10


def spec_texts(count: int) -> list[str]:
    """Spec files of 10 SLOs each: events, latency and raw SLIs, 7d/28d/30d periods."""
    texts = []
    for service_index in range(0, count, SLOS_PER_SERVICE):
        service = f"svc-{service_index // SLOS_PER_SERVICE}"
        slos = []
        for i in range(min(SLOS_PER_SERVICE, count - service_index)):
            period = ("7d", "28d", "30d")[i % 3]
            sel = f'service="{service}",http_route="/r{i}"'
            metric = "http_server_request_duration_seconds"
            sli: dict[str, Any]
            if i % 3 == 0:
                sli = {"events": {
                    "error_query": f'sum(rate({metric}_count{{{sel},'
                                   f'http_response_status_code=~"5.."}}[{{{{window}}}}]))',
                    "total_query": f"sum(rate({metric}_count{{{sel}}}[{{{{window}}}}]))"}}
            elif i % 3 == 1:
                sli = {"latency": {"histogram": metric, "threshold": 0.5,
                                   "selector": {"service": service, "http_route": f"/r{i}"}}}
            else:
                sli = {"raw": {"error_ratio_query": f"1 - avg_over_time(up{{{sel}}}"
                                                   "[{{window}}])"}}
            slos.append({"name": f"slo-{i}", "objective": 99.9, "period": period, "sli": sli,
                         "alerting": {"annotations": {"runbook_url": "https://r.example"}}})
        texts.append(yaml.safe_dump({"apiVersion": "crm-observability/v1", "kind": "SLOSpec",
                                     "service": service, "labels": {"team": "t"},
                                     "slos": slos}))
    return texts


def run_once(texts: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, bytes rendered) for one pass over every spec."""
    start, cpu = time.perf_counter(), time.process_time()
    size = 0
    for i, text in enumerate(texts):
        spec = parse_spec(text, f"bench-{i}.slo.yml")
        validate(spec)
        size += len(render_rule_file(spec))
    return time.perf_counter() - start, time.process_time() - cpu, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    texts = spec_texts(args.slos)
    times, cpu_times = [], []
    size = 0
    for _ in range(args.runs):
        elapsed, cpu, size = run_once(texts)
        times.append(elapsed)
        cpu_times.append(cpu)
    # CPU time is what the run costs on an idle core; wall time includes waiting
    # for a busy machine's scheduler.
    print(f"{args.slos} SLOs in {len(texts)} specs -> {size / 1e6:.1f} MB of rules: "
          f"median wall {statistics.median(times):.3f} s, median CPU "
          f"{statistics.median(cpu_times):.3f} s over {args.runs} runs "
          f"(wall min {min(times):.3f} s; target < 2 s)")


if __name__ == "__main__":
    main()
