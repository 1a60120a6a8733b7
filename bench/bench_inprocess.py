"""Per-request overhead of instrument(), in process (direct ASGI calls, no network).

Each variant lives in its own worker process (logging configuration is
process-wide, so variants cannot share one); the parent asks the workers for
rounds in turn (interleaved) and reports medians.  Spans of the traced variants
are exported over OTLP/HTTP to a receiver in another process, and each round
includes flushing them, so export work is charged to the variant that made it.

    .venv/bin/python -m bench.bench_inprocess [--requests 3000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

VARIANTS = {
    "bare": None,
    "production (1% sampling)": {"environment": "production"},
    "development (100% sampling, JSON logs)": {
        "environment": "development", "log_format": "json", "log_level": "INFO"},
    "production at 100% sampling": {"environment": "production", "trace_sample_ratio": 1.0},
    "production at 100% sampling, no export": {
        "environment": "production", "trace_sample_ratio": 1.0, "otlp_endpoint": None},
    "production, access log at INFO": {
        "environment": "production",
        "logger_levels": {"crm_observability.access": "INFO"}},
}


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/contacts/{contact_id}")
    async def get_contact(contact_id: int) -> dict[str, Any]:
        return {"id": contact_id, "name": "Ada"}

    return app


def scope_for(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }


async def drive(app: Callable[..., Any], n: int) -> None:
    scope = scope_for("/api/v1/contacts/42")
    received = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return received

    async def send(message: dict[str, Any]) -> None:
        return None

    for _ in range(n):
        await app(dict(scope), receive, send)


def worker(label: str, endpoint: str) -> int:
    """Child: build one variant, then answer each "N" on stdin with seconds per request."""
    from crm_observability import Settings, instrument
    from crm_observability.tracing import disable_framework_tracing

    app = make_app()
    config = VARIANTS[label]
    obs = None
    if config is None:
        disable_framework_tracing(app)  # "bare" means no tracing at all
    else:
        overrides = dict(config)
        environment = str(overrides.pop("environment"))
        overrides.setdefault("otlp_endpoint", endpoint)
        # A round queues its spans faster than the export thread (sharing the GIL) drains
        # them: a queue that holds the whole round means every span is exported and charged.
        overrides.setdefault("span_queue_size", 65536)
        settings = Settings.for_profile(environment, service_name="bench", **overrides)
        # A real file (one write per line, like stdout into a pipe), not a growing buffer.
        obs = instrument(app, settings, log_stream=open(os.devnull, "w"))  # noqa: SIM115
    loop = asyncio.new_event_loop()
    loop.run_until_complete(drive(app, 300))  # warm up
    for line in sys.stdin:
        n = int(line)
        start = time.perf_counter()
        loop.run_until_complete(drive(app, n))
        if obs is not None:
            obs.flush()  # this variant's export work is part of its cost
        print((time.perf_counter() - start) / n, flush=True)
    return 0


def serve_receiver() -> int:
    """Child: an OTLP receiver; prints its endpoint, then the span count at stdin EOF."""
    from tests.tracing.otlp_receiver import OtlpReceiver

    with OtlpReceiver() as rx:
        print(rx.endpoint, flush=True)
        sys.stdin.read()
        print(len(rx.spans()), flush=True)
    return 0


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bench.bench_inprocess", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver:
        return serve_receiver()
    if args.worker:
        return worker(args.worker, args.endpoint)

    receiver = _spawn("--receiver")
    assert receiver.stdin is not None and receiver.stdout is not None
    endpoint = receiver.stdout.readline().strip()
    workers = {label: _spawn("--worker", label, "--endpoint", endpoint) for label in VARIANTS}
    results: dict[str, list[float]] = {label: [] for label in VARIANTS}
    try:
        for _ in range(args.rounds):
            for label, proc in workers.items():
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(f"{args.requests}\n")
                proc.stdin.flush()
                results[label].append(float(proc.stdout.readline()))
    finally:
        for proc in workers.values():
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=30)
        receiver.stdin.close()
        exported = int(receiver.stdout.readline().strip() or 0)
        receiver.wait(timeout=30)
    bare = statistics.median(results["bare"])
    print(f"{'variant':44} {'median µs/req':>14} {'overhead µs':>12}")
    for label, values in results.items():
        med = statistics.median(values)
        print(f"{label:44} {med * 1e6:14.1f} {(med - bare) * 1e6:12.1f}")
    print(f"spans exported to the local OTLP receiver: {exported}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
