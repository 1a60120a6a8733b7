"""Benchmark 4: memory of an instrumented service (issue 8).

Each case runs in a fresh Python process (its RSS is the figure, not the driver's):

- ``requests``: the app of bench.http_overhead under ``instrument()`` (development
  profile, 100% sampling, JSON logs to /dev/null, spans exported over OTLP/HTTP to a
  receiver process), served by uvicorn on core 0 under wrk on core 1: 100,000 requests
  with distinct contact ids and request ids, one in ten an unmatched raw path (the
  label sets stay bounded by route templates). RSS of the server process after a
  5,000-request warm-up and after each of about five steps. (Until 2026-12-07 this
  case called the app's ASGI interface in a loop: with no I/O wait the event loop
  never let the export thread run, so 84% of spans were dropped and the RSS measured
  a full span queue, not a service.)
- ``guarded``: 1,000,000 distinct values offered to one labelled counter of
  :class:`MetricsRegistry` (cardinality guard at the default 2,000 series).
- ``unguarded``: the same values on a plain prometheus_client counter.

    .venv/bin/python -m bench.memory [--values 1000000] [--requests 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
WARMUP = 5000  # requests before the first RSS point (imports, caches, the span queue filling)


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size from /proc (no psutil needed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found")


def _labelled(values: int, guarded: bool) -> dict[str, Any]:
    import gc

    from prometheus_client import CollectorRegistry, Counter

    from crm_observability.metrics import MetricsRegistry
    from crm_observability.settings import Settings

    if guarded:
        metrics = MetricsRegistry(Settings(service_name="bench"), registry=CollectorRegistry())
        family: Any = metrics.counter("bench_customer_requests", "bench", ("customer",))
    else:
        family = Counter("bench_customer_requests", "bench", ("customer",),
                         registry=CollectorRegistry())
    gc.collect()
    start = rss_bytes()
    points: list[tuple[int, int]] = [(0, start)]
    began = time.perf_counter()
    step = max(values // 5, 1)
    for i in range(values):
        family.labels(str(i)).inc()
        if (i + 1) % step == 0:
            points.append((i + 1, rss_bytes()))
    elapsed = time.perf_counter() - began
    series = family.series_count() if guarded else len(family._metrics)
    return {"points": points, "seconds": elapsed, "series": series}


# Every request distinct: contact id and request id from a counter that goes on
# across wrk runs; one in ten an unmatched raw path (the route label set must stay
# bounded by route templates).
_DISTINCT_LUA = """
local n = 0
init = function(args) n = tonumber(args[1]) end
request = function()
  n = n + 1
  local path = "/api/v1/contacts/" .. n
  if n % 10 == 0 then path = "/no/such/path/" .. n end
  return wrk.format("GET", path, {["X-Request-ID"] = "req-" .. n})
end
"""


def _load(url: str, script: Path, seconds: float, first_id: int) -> int:
    """Requests wrk completed in ``seconds`` of load on the load core."""
    from bench import http_overhead as ho

    cmd = ["taskset", "-c", ho.LOAD_CORE, "wrk", "-t1", "-c16", f"-d{max(1, round(seconds))}s",
           "--latency", "-s", str(script), url, "--", str(first_id)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 30)
    return ho.parse_wrk(out.stdout).requests


def _requests(n: int) -> dict[str, Any]:
    """The development-profile service of bench.http_overhead, served by uvicorn under wrk."""
    import tempfile

    from bench import http_overhead as ho

    with tempfile.TemporaryDirectory() as tmp, ho.servers(("development",), tmp) as [server]:
        script = Path(tmp) / "distinct.lua"
        script.write_text(_DISTINCT_LUA)
        url = f"http://127.0.0.1:{server.port}"
        began = time.perf_counter()
        served = 0
        while served < WARMUP:
            served += _load(url, script, 2, served)
        rate = served / (time.perf_counter() - began)
        # About five steps of n/5 requests each, whatever the machine's speed.
        step_s = max(n / 5 / rate, 1.0)
        points = [(0, rss_bytes(server.proc.pid))]
        began, measured = time.perf_counter(), 0
        while measured < n:
            done = _load(url, script, step_s, served + measured)
            if done == 0:
                raise RuntimeError("the server stopped answering")
            measured += done
            points.append((measured, rss_bytes(server.proc.pid)))
        elapsed = time.perf_counter() - began
        time.sleep(6)  # the batch processor exports every 5 s; the receiver counts every 0.5 s
        return {"points": points, "seconds": elapsed, "spans_exported": server.spans(),
                "requests": served + measured}


def run_case(case: str, count: int) -> dict[str, Any]:
    """Run one case in a fresh interpreter; returns its JSON result."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "bench.memory", "--case", case,
                          "--count", str(count)], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=900)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def growth(points: list[list[int]]) -> float:
    """Relative RSS growth from the first to the last point."""
    return (points[-1][1] - points[0][1]) / points[0][1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--case", choices=("requests", "guarded", "unguarded"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        if args.case == "requests":
            result = _requests(args.count)
        else:
            result = _labelled(args.count, guarded=args.case == "guarded")
        print(json.dumps(result))
        return 0
    for case, count in (("requests", args.requests), ("guarded", args.values),
                        ("unguarded", args.values)):
        res = run_case(case, count)
        pts = ", ".join(f"{n:,}: {b / MIB:.1f}" for n, b in res["points"])
        print(f"{case:10} RSS MiB by count [{pts}] growth {growth(res['points']):+.1%} "
              f"({res['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
