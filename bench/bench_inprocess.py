"""Per-request overhead of instrument(), in process (direct ASGI calls, no network).

Variants run interleaved, several rounds, in one process; spans of the traced
variants are exported over OTLP/HTTP to a local receiver (not dropped).
Prints medians and the overhead per request against the bare app.

    .venv/bin/python -m bench.bench_inprocess [--requests 4000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from crm_observability import Settings, instrument
from crm_observability.tracing import disable_framework_tracing
from tests.tracing.otlp_receiver import OtlpReceiver


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


async def drive(app: Callable[..., Any], n: int) -> float:
    scope = scope_for("/api/v1/contacts/42")
    received = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return received

    async def send(message: dict[str, Any]) -> None:
        return None

    start = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - start) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)

    with OtlpReceiver() as rx:
        sink = io.StringIO()
        bare = make_app()
        # The global SDK provider set below would switch FastAPI's native telemetry on for
        # the bare app too (4 spans per request); bare means "no tracing at all".
        disable_framework_tracing(bare)
        apps: dict[str, Any] = {"bare": bare}
        variants = {
            "production (1% sampling)": Settings.for_profile(
                "production", service_name="bench", otlp_endpoint=rx.endpoint),
            "development (100% sampling, JSON logs)": Settings.for_profile(
                "development", service_name="bench", otlp_endpoint=rx.endpoint,
                log_format="json", log_level="INFO"),
        }
        obs = {}
        for label, settings in variants.items():
            app = make_app()
            obs[label] = instrument(app, settings, log_stream=sink)
            apps[label] = app
        loop = asyncio.new_event_loop()
        for app in apps.values():  # warm up (route compilation, first span, imports)
            loop.run_until_complete(drive(app, 300))
        results: dict[str, list[float]] = {k: [] for k in apps}
        for _ in range(args.rounds):
            for label, app in apps.items():
                results[label].append(loop.run_until_complete(drive(app, args.requests)))
                sink.seek(0)
                sink.truncate()
        for o in obs.values():
            o.flush()
        exported = len(rx.spans())
    bare = statistics.median(results["bare"])
    print(f"{'variant':42} {'median µs/req':>14} {'overhead µs':>12}")
    for label, values in results.items():
        med = statistics.median(values)
        print(f"{label:42} {med * 1e6:14.1f} {(med - bare) * 1e6:12.1f}")
    print(f"spans exported to the local OTLP receiver: {exported}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
