"""Benchmark 4: memory of an instrumented service (issue 8).

Each case runs in a fresh Python process (its RSS is the figure, not the driver's):

- ``requests``: an app under ``instrument()`` (development profile, 100% sampling,
  JSON logs to /dev/null, spans exported over OTLP/HTTP to a local receiver) serves
  100,000 requests through its ASGI interface: distinct contact ids, request ids and
  unmatched raw paths (the label sets stay bounded by route templates).  RSS after a
  1,000-request warm-up and after every 20,000.
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
from collections.abc import MutableMapping
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


def _requests(n: int) -> dict[str, Any]:
    import asyncio
    import gc

    from fastapi import FastAPI

    from crm_observability import Settings, instrument

    app = FastAPI()

    @app.get("/api/v1/contacts/{contact_id}")
    async def get_contact(contact_id: int) -> dict[str, Any]:
        return {"id": contact_id, "name": "Ada"}

    # The receiver is another process: what it decodes must not count in this RSS.
    count_file = f"/tmp/crm-bench-memory-{os.getpid()}.spans"
    rx = subprocess.Popen([sys.executable, "-m", "bench.http_overhead", "--receive", count_file],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert rx.stdout is not None
    endpoint = f"http://127.0.0.1:{rx.stdout.readline().strip()}"
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    instrument(app, Settings.for_profile("development", service_name="bench", log_format="json",
                                         log_level="INFO", otlp_endpoint=endpoint),
               log_stream=devnull)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        return None

    async def drive(first: int, count: int) -> None:
        for i in range(first, first + count):
            # One in ten is an unmatched raw path: it must not grow the route label set.
            path = f"/api/v1/contacts/{i}" if i % 10 else f"/no/such/path/{i}"
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                     "method": "GET", "scheme": "http", "path": path,
                     "raw_path": path.encode(), "query_string": b"", "root_path": "",
                     "headers": [(b"host", b"bench"), (b"x-request-id", f"req-{i}".encode())],
                     "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
            await app(scope, receive, send)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(drive(0, WARMUP))
    gc.collect()
    points = [(0, rss_bytes())]
    step = max(n // 5, 1)
    began = time.perf_counter()
    for first in range(0, n, step):
        loop.run_until_complete(drive(WARMUP + first, step))
        points.append((first + step, rss_bytes()))
    elapsed = time.perf_counter() - began
    app.state.observability.flush()
    time.sleep(1.0)  # the receiver writes its count every 0.5 s
    rx.terminate()
    rx.wait(10)
    spans = int(Path(count_file).read_text() or 0)
    os.unlink(count_file)
    return {"points": points, "seconds": elapsed, "spans_exported": spans}


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
