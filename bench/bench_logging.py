"""Micro-benchmark of the logging pipeline (not part of the test suite).

    .venv/bin/python -m bench.bench_logging [--number N]

Prints microseconds per call for: the plain structlog JSON recipe (stdlib
ProcessorFormatter + JSONRenderer, the baseline), one of our JSON lines, one
access line, a disabled access line, and redaction of a clean and a dirty
message.  Lines go to an in-memory sink, so this measures CPU, not I/O.
"""

from __future__ import annotations

import argparse
import io
import logging
import time
import timeit
from collections.abc import Callable
from typing import Any

import structlog

from crm_observability.context import bind_context
from crm_observability.logging import configure_logging, get_logger, log_access, redact_text
from crm_observability.settings import Settings


class _Sink(io.StringIO):
    def write(self, s: str) -> int:  # keep memory flat: drop the text
        return len(s)


def _baseline(sink: io.StringIO) -> Callable[[], None]:
    """The structlog documentation's stdlib + JSON recipe, with a timestamp and level."""
    shared: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sink)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer()],
        foreign_pre_chain=shared,
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    log = structlog.stdlib.get_logger("bench.baseline")
    return lambda: log.info("contact created", contact_id=42, source="api")


def _best(fn: Callable[[], object], number: int) -> float:
    # CPU time of this process, not wall time: steadier on a shared machine.
    return min(timeit.repeat(fn, number=number, repeat=3, timer=time.process_time)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sink = _Sink()
    clean = "Contact 42 created for tenant t-17 in 12 ms"
    dirty = 'login ok for john.doe@example.com {"password": "hunter2", "token": "abc"}'
    best: dict[str, float] = {}
    log = get_logger("bench.ours")

    def record(label: str, fn: Callable[[], object]) -> None:
        best[label] = min(best.get(label, float("inf")), _best(fn, args.number))

    # Rounds alternate baseline and ours, so a busy machine affects both alike.
    for _ in range(args.rounds):
        record("baseline: structlog stdlib JSON recipe", _baseline(sink))
        configure_logging(Settings.for_profile("testing", service_name="bench"), stream=sink)
        with bind_context(request_id="3f2a9c", tenant_id="t-17"):
            record("ours: JSON line + context + redaction",
                   lambda: log.info("contact created", contact_id=42, source="api"))
            record("ours: access line",
                   lambda: log_access("GET", "/contacts/{id}", 200, 0.0042, 512,
                                      path="/contacts/42", client="127.0.0.1"))
        record("ours: debug line below the level", lambda: log.debug("dropped", n=1))
        configure_logging(Settings.for_profile("testing", access_log=False), stream=sink)
        record("ours: access line, logger disabled",
               lambda: log_access("GET", "/contacts/{id}", 200, 0.0042, 512))
        record("redact_text: clean 45-char message", lambda: redact_text(clean))
        record("redact_text: message with e-mail and secrets", lambda: redact_text(dirty))
    for label, micros in best.items():
        print(f"{label:<46} {micros:8.2f} µs")


if __name__ == "__main__":
    main()
