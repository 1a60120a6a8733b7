"""Micro-benchmark: stock vs fast OTLP span encoding (not part of the test suite).

    .venv/bin/python -m bench.bench_encoding [--spans 512] [--rounds 30]

Encodes one batch of server spans shaped like the ASGI middleware's (method,
path, scheme, route, status code, tenant; every path distinct) to the bytes the
exporter sends, alternating stock and fast round by round so both see the same
machine load, and prints the median microseconds per span and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as stock_encode
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from crm_observability.tracing.encoding import encode_spans as fast_encode


def server_spans(n: int) -> Sequence[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(
        {"service.name": "contacts", "service.version": "1.2.3",
         "deployment.environment.name": "production"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("crm_observability", "0.1.0")
    for i in range(n):
        span = tracer.start_span("GET", kind=SpanKind.SERVER, attributes={
            "http.request.method": "GET", "url.path": f"/api/v1/contacts/{i}",
            "url.scheme": "http"})
        span.update_name("GET /api/v1/contacts/{contact_id}")
        span.set_attribute("http.route", "/api/v1/contacts/{contact_id}")
        span.set_attribute("http.response.status_code", 200)
        span.set_attribute("tenant.id", "acme")
        span.end()
    return memory.get_finished_spans()


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    spans = server_spans(args.spans)

    def stock() -> bytes:
        return bytes(stock_encode(spans).SerializePartialToString())

    def fast() -> bytes:
        return fast_encode(spans)

    assert stock() == fast(), "the fast encoder's bytes differ from stock"
    times: dict[str, list[float]] = {"stock": [], "fast": []}
    for _ in range(args.rounds):  # side by side: load on the machine hits both alike
        times["stock"].append(_seconds(stock))
        times["fast"].append(_seconds(fast))
    per_span = {k: statistics.median(v) / len(spans) * 1e6 for k, v in times.items()}
    print(f"batch of {len(spans)} server spans, median of {args.rounds} rounds")
    for name, us in per_span.items():
        print(f"  {name:5s} encode+serialize: {us:6.2f} us/span")
    print(f"  stock/fast ratio: {per_span['stock'] / per_span['fast']:.2f}x")


if __name__ == "__main__":
    main()
