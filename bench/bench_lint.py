"""Benchmark: lint 1,000 rules (target: under 2 s).  Not part of the test suite.

    .venv/bin/python -m bench.bench_lint [--rules 1000] [--rounds 5]

Writes 1,000 distinct rules (per service: SLI recording rules, burn-rate and
latency alerts, each expression unique so the parse cache does not help) into
10 files, then times ``lint_paths`` end to end (YAML load, PromQL parse, every
check) with a cold cache each round, and prints the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from crm_observability import conventions as c
from crm_observability.lint import LintConfig, catalog_from_mapping, lint_paths
from crm_observability.lint.promql import analyze

TARGET_S = 2.0
RULES_PER_SERVICE = 10


def _service_rules(i: int) -> str:
    svc = f"svc{i}"
    sel = f'{c.LABEL_SERVICE}="{svc}"'
    count = f"{c.HTTP_SERVER_DURATION}_count"
    bucket = f"{c.HTTP_SERVER_DURATION}_bucket"
    errors = f'{count}{{{sel},{c.LABEL_HTTP_STATUS}=~"5.."}}'
    by = f"sum by ({c.LABEL_SERVICE})"
    rules = [
        (f"service:{svc}_requests:rate5m", f"{by} (rate({count}{{{sel}}}[5m]))"),
        (f"service:{svc}_errors:rate5m", f"sum by ({c.LABEL_SERVICE}) (rate({errors}[5m]))"),
        (f"service:{svc}_errors:ratio_rate5m",
         f"service:{svc}_errors:rate5m / clamp_min(service:{svc}_requests:rate5m, 1e-9)"),
        (f"service:{svc}_requests:rate1h", f"{by} (rate({count}{{{sel}}}[1h]))"),
        (f"service:{svc}_latency:p95_5m",
         f"histogram_quantile(0.95, sum by ({c.LABEL_SERVICE}, le) (rate({bucket}{{{sel}}}[5m])))"),
        (f"service:{svc}_users:sum", f"sum by ({c.LABEL_SERVICE}) ({c.USERS_ACTIVE}{{{sel}}})"),
    ]
    out = [f"  - name: {svc}-recordings\n    rules:\n"]
    out += [f"      - record: {name}\n        expr: '{expr}'\n" for name, expr in rules]
    alerts = [
        ("HighErrorRate", f"service:{svc}_errors:ratio_rate5m > 0.05", "page", "5m"),
        ("HighResponseTime", f"service:{svc}_latency:p95_5m > 2", "warning", "10m"),
        ("NoTraffic", f"service:{svc}_requests:rate1h == 0", "ticket", "1h"),
        ("ServiceDown", f'up{{job="{svc}"}} == 0', "page", "1m"),
    ]
    out.append(f"  - name: {svc}-alerts\n    rules:\n")
    for name, expr, severity, duration in alerts:
        out.append(
            f"      - alert: {name}\n        expr: '{expr}'\n        for: {duration}\n"
            f"        labels: {{{c.LABEL_SEVERITY}: {severity}, {c.LABEL_SERVICE}: {svc}}}\n"
            "        annotations:\n"
            f'          summary: "{name} on {{{{ $labels.{c.LABEL_SERVICE} }}}}"\n'
            f'          description: "{{{{ $labels.{c.LABEL_SERVICE} }}}}: {{{{ $value }}}}"\n'
            f"          runbook_url: https://runbooks.example.com/{name}\n"
        )
    return "".join(out)


def write_rules(directory: Path, rules: int, files: int = 10) -> None:
    services = max(1, rules // RULES_PER_SERVICE)
    per_file = max(1, services // files)
    for f in range(0, services, per_file):
        body = "".join(_service_rules(i) for i in range(f, min(services, f + per_file)))
        (directory / f"rules-{f // per_file:02d}.yml").write_text("groups:\n" + body)


def run(rules: int = 1000, rounds: int = 5) -> tuple[float, int]:
    """Median seconds to lint ``rules`` rules, and the number of findings."""
    catalog = catalog_from_mapping(
        {"metrics": {c.HTTP_SERVER_DURATION: "histogram", c.USERS_ACTIVE: "gauge"}}, "bench"
    )
    config = LintConfig(catalog=catalog)
    times: list[float] = []
    findings = 0
    with tempfile.TemporaryDirectory() as tmp:
        write_rules(Path(tmp), rules)
        for _ in range(rounds):
            analyze.cache_clear()  # cold: every expression parsed again
            start = time.perf_counter()
            result = lint_paths([tmp], config)
            times.append(time.perf_counter() - start)
            findings = len(result.findings)
    return statistics.median(times), findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    median, findings = run(args.rules, args.rounds)
    print(f"lint {args.rules} rules: median {median:.3f} s over {args.rounds} rounds "
          f"({findings} findings; target < {TARGET_S:.0f} s)")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
