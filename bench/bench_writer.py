"""Micro-benchmark: what the stdout line writer's thread costs per line (not a test).

    .venv/bin/python -m bench.bench_writer [--seconds 3] [--rounds 3]

The main thread stands in for a busy event loop (pure-Python work, one access
line queued every 0.5 ms, ~2,000 lines/s); the writer writes to /dev/null.  It
reports the writer thread's own CPU per line for the shipped gathering interval
and for the 5 ms interval used before, alternating round by round.  A thread
wake-up also costs the event loop a GIL hand-off, not counted here: fewer
wake-ups save on both sides.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from unittest import mock

from crm_observability.logging import writer as writer_module

LINE = (
    '{"timestamp":"2026-12-07T04:05:13.588Z","level":"INFO","logger":"crm_observability.access",'
    '"message":"GET /api/v1/contacts/{contact_id} 200","service":"bench","environment":"bench",'
    '"method":"GET","route":"/api/v1/contacts/{contact_id}","status":200,"duration_ms":4.598,'
    '"response_bytes":22,"path":"/api/v1/contacts/42",'
    '"request_id":"6bede79a979554274b6e78160488fbe1",'
    '"trace_id":"6bede79a979554274b6e78160488fbe1","span_id":"7eac073becc25250"}'
)


def _thread_cpu(native_id: int) -> float:
    stat = open(f"/proc/self/task/{native_id}/stat").read()  # noqa: SIM115
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def writer_cpu_per_line(interval_s: float, seconds: float) -> float:
    """Microseconds of writer-thread CPU per line while the main thread is busy."""
    with mock.patch.object(writer_module, "_IDLE_S", interval_s):
        writer = writer_module.LineWriter()
        assert writer._thread is not None and writer._thread.native_id is not None
        native_id = writer._thread.native_id
        before, lines = _thread_cpu(native_id), 0
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            busy_until = time.perf_counter() + 0.0005
            spin = 0
            while time.perf_counter() < busy_until:
                spin += 1
            writer.put(LINE)
            lines += 1
        writer.flush()
        used = _thread_cpu(native_id) - before
        writer._stopped = True  # the thread ends at its next wake-up
    return used / lines * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    shipped = writer_module._IDLE_S
    intervals = {f"every {shipped * 1000:g} ms (shipped)": shipped, "every 5 ms (earlier)": 0.005}
    results: dict[str, list[float]] = {label: [] for label in intervals}
    real_stdout = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull
        try:
            for _ in range(args.rounds):
                for label, interval in intervals.items():
                    results[label].append(writer_cpu_per_line(interval, args.seconds))
        finally:
            sys.stdout = real_stdout
    print("writer thread CPU per line, ~2,000 lines/s, median of "
          f"{args.rounds} rounds of {args.seconds:g} s")
    for label, values in results.items():
        print(f"  {label:28} {statistics.median(values):6.1f} µs/line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
