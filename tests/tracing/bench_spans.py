"""Per-span cost of the tracing pipeline (not a test; run by hand, see docs/tracing.md).

    .venv/bin/python -m tests.tracing.bench_spans

Spans are really exported: OTLP/HTTP to a receiver in a separate process, so
the receiver's decoding does not compete for this process's GIL.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

from crm_observability.settings import Settings
from crm_observability.tracing import TracingRuntime, configure_tracing, traced

N = 10_000
RECEIVER = (
    "import sys, time\n"
    "from tests.tracing.otlp_receiver import OtlpReceiver\n"
    "rx = OtlpReceiver()\n"
    "print(rx.endpoint, flush=True)\n"
    "sys.stdin.read()\n"
    "print(len(rx.spans()), flush=True)\n"
)


def per_call_us(fn: Callable[[], object], n: int = N) -> float:
    """Best-of-5 CPU time of this process per call (robust on a shared, loaded machine)."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, time.process_time() - start)
    return best / n * 1e6


def figures(runtime: TracingRuntime) -> dict[str, float]:
    tracer = runtime.tracer

    def raw() -> None:
        tracer.start_span("op").end()

    @traced("op", attributes={"component": "bench"})
    def decorated() -> int:
        return 1

    def plain() -> int:
        return 1

    base = per_call_us(plain)
    return {"start+end": per_call_us(raw), "@traced": per_call_us(decorated) - base}


def export_cpu_per_span(runtime: TracingRuntime) -> float:
    """CPU of all threads (caller + batch exporter) per span, the export included."""
    tracer = runtime.tracer
    start = time.process_time()
    for _ in range(N):
        tracer.start_span("op", attributes={"component": "bench"}).end()
    runtime.force_flush(60)
    return (time.process_time() - start) / N * 1e6


def main() -> None:
    rx = subprocess.Popen([sys.executable, "-c", RECEIVER], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    assert rx.stdout is not None and rx.stdin is not None
    endpoint = rx.stdout.readline().strip()
    exported = 0
    for label, ratio in (("sampled (100%)", 1.0), ("unsampled (0%)", 0.0)):
        local = configure_tracing(Settings(service_name="bench", trace_sample_ratio=ratio))
        caller = figures(local)  # batch processor absent: the caller's own cost
        local.shutdown()
        # Queue as large as a run: every span is exported, none dropped.
        runtime = configure_tracing(Settings(service_name="bench", trace_sample_ratio=ratio,
                                             otlp_endpoint=endpoint, span_queue_size=N))
        total = export_cpu_per_span(runtime)
        exported += runtime.exporter.exported if runtime.exporter else 0
        runtime.shutdown()
        shown = ", ".join(f"{k} {v:.2f} µs" for k, v in caller.items())
        print(f"{label}: caller CPU {shown}; CPU per span incl. OTLP export {total:.2f} µs")
    rx.stdin.close()
    received = rx.stdout.readline().strip()
    rx.wait(10)
    print(f"spans exported {exported}, receiver decoded {received}")


if __name__ == "__main__":
    main()
