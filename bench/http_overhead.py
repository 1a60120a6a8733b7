"""Benchmark 1: instrumentation overhead over real HTTP (issue 8).

The same FastAPI app in four variants, each in its own uvicorn process (one
worker, pinned to core 0 with ``taskset``), loaded in turn by ``wrk`` pinned to
core 1, in interleaved rounds:

- ``bare``: no instrumentation at all;
- ``production``: ``instrument()`` with the production profile (1% sampling);
- ``development``: ``instrument()`` at 100% sampling, JSON access logs at INFO;
- ``hand-assembled``: prometheus-fastapi-instrumentator + opentelemetry-instrumentation-fastapi
  (100% sampling, BatchSpanProcessor + OTLP/HTTP) + a structlog request-logging middleware.

Every traced variant exports its spans over OTLP/HTTP to its own receiver
process (tests/tracing/otlp_receiver.py); the span counts received are reported.
Logs go to /dev/null (rendered, then discarded by the kernel).

``--stack`` picks the server under all four variants: ``uvicorn`` is what
``pip install uvicorn`` gives (the pure-Python h11 parser, asyncio's loop);
``uvicorn-standard`` is the speed half of ``uvicorn[standard]`` (httptools and
uvloop, the ``server`` extra, which the reference-service image installs).  Both
are pinned explicitly: uvicorn would otherwise pick whichever is installed.

    .venv/bin/python -m bench.http_overhead [--rounds 20] [--seconds 3] [--connections 32]
        [--stack uvicorn|uvicorn-standard]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.tracing.otlp_receiver import free_port

ROUTE = "/api/v1/contacts/{contact_id}"
TARGET_PATH = "/api/v1/contacts/42"
VARIANTS = ("bare", "production", "development", "hand-assembled")
TRACED = ("production", "development", "hand-assembled")
SERVER_CORE, LOAD_CORE = "0", "1"
# uvicorn.run(http=..., loop=...) per server stack.
STACKS: dict[str, dict[str, str]] = {
    "uvicorn": {"http": "h11", "loop": "asyncio"},
    "uvicorn-standard": {"http": "httptools", "loop": "uvloop"},
}
ROOT = Path(__file__).resolve().parent.parent


# --- the app variants (built inside the server process) ----------------------------------

def _base_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get(ROUTE)
    async def get_contact(contact_id: int) -> dict[str, Any]:
        return {"id": contact_id, "first_name": "Ada", "last_name": "Lovelace"}

    return app


def _ours(profile: str, endpoint: str) -> Any:
    from crm_observability import Settings, instrument

    app = _base_app()
    extra = {"log_format": "json", "log_level": "INFO"} if profile == "development" else {}
    instrument(app, Settings.for_profile(profile, service_name="bench",
                                         otlp_endpoint=endpoint, **extra))
    return app


def _hand_assembled(endpoint: str) -> Any:
    """What teams assemble today, configured as their READMEs show."""
    import logging

    import structlog
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from prometheus_fastapi_instrumentator import Instrumentator
    from starlette.requests import Request

    provider = TracerProvider(resource=Resource.create({"service.name": "bench-hand"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint=endpoint + "/v1/traces")))
    trace.set_tracer_provider(provider)
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=logging.INFO)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.JSONRenderer()],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger, cache_logger_on_first_use=True)
    log = structlog.get_logger("access")
    app = _base_app()

    @app.middleware("http")  # type: ignore[untyped-decorator]
    async def access_log(request: Request, call_next: Any) -> Any:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=os.urandom(8).hex())
        start = time.perf_counter()
        response = await call_next(request)
        log.info("request", method=request.method, path=request.url.path,
                 status=response.status_code, duration_ms=(time.perf_counter() - start) * 1e3)
        return response

    Instrumentator().instrument(app).expose(app)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return app


def build(variant: str, endpoint: str) -> Any:
    if variant == "bare":
        return _base_app()
    if variant == "hand-assembled":
        return _hand_assembled(endpoint)
    return _ours(variant, endpoint)


def serve(variant: str, port: int, endpoint: str, stack: str = "uvicorn") -> None:
    import uvicorn

    app = build(variant, endpoint)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                **STACKS[stack])  # type: ignore[arg-type]


def receive(count_file: str) -> None:
    """A receiver process: prints its port, writes its running span count to ``count_file``."""
    from tests.tracing.otlp_receiver import OtlpReceiver

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with OtlpReceiver() as rx:
        print(rx.port, flush=True)
        total = 0
        while not stop:
            time.sleep(0.5)
            # Count and forget what arrived, so a long run does not hoard memory.
            n = len(rx.requests)
            batch = rx.requests[:n]
            del rx.requests[:n]
            del rx.headers[:n]
            total += sum(len(ss.spans) for r in batch for rs in r.resource_spans
                         for ss in rs.scope_spans)
            Path(count_file).write_text(str(total))


# --- the driver ----------------------------------------------------------------------------

@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(f"wrk latency {text!r} not understood")
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Requests/sec, the 50% and 99% latency lines of ``wrk --latency``, errors."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(m.group(1)) if m else 0
    return WrkResult(rps, p50, p99, total, errors)


def wrk(url: str, seconds: float, connections: int) -> WrkResult:
    cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s",
           "--latency", url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 30)
    return parse_wrk(out.stdout)


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                resp.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.1)


@dataclass
class Server:
    variant: str
    port: int
    proc: subprocess.Popen[bytes]
    receiver: subprocess.Popen[str] | None = None
    count_file: str = ""
    results: list[WrkResult] = field(default_factory=list)

    def spans(self) -> int:
        try:
            return int(Path(self.count_file).read_text() or 0)
        except (OSError, ValueError):
            return 0


def _python(*args: str, core: str | None = None, **kw: Any) -> subprocess.Popen[Any]:
    cmd = [sys.executable, "-m", "bench.http_overhead", *args]
    if core is not None:
        cmd = ["taskset", "-c", core, *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in [v for v in env if v.startswith(("CRM_OBS_", "OTEL_"))]:
        del env[var]  # the variants configure themselves
    return subprocess.Popen(cmd, cwd=ROOT, env=env, **kw)


def start_receiver(count_file: str, core: str | None = None
                   ) -> tuple[subprocess.Popen[str], str]:
    """An OTLP/HTTP receiver in its own process (stop it with SIGTERM): the process and its
    base URL. It writes the number of spans received so far to ``count_file``."""
    receiver = _python("--receive", count_file, core=core, stdout=subprocess.PIPE, text=True)
    assert receiver.stdout is not None
    return receiver, f"http://127.0.0.1:{receiver.stdout.readline().strip()}"


@contextmanager
def servers(variants: tuple[str, ...], tmp: str, stack: str = "uvicorn"
            ) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for variant in variants:
            endpoint, receiver, count_file = "http://127.0.0.1:9", None, ""
            if variant in TRACED:
                count_file = os.path.join(tmp, f"{variant}.spans")
                receiver, endpoint = start_receiver(count_file, core=LOAD_CORE)
            port = free_port()
            proc = _python("--serve", variant, "--port", str(port), "--endpoint", endpoint,
                           "--stack", stack, core=SERVER_CORE, stdout=subprocess.DEVNULL)
            started.append(Server(variant, port, proc, receiver, count_file))
            _wait_http(f"http://127.0.0.1:{port}{TARGET_PATH}")
        yield started
    finally:
        for s in started:
            for p in (s.proc, s.receiver):
                if p is not None and p.poll() is None:
                    p.send_signal(signal.SIGTERM)
        for s in started:
            for p in (s.proc, s.receiver):
                if p is not None:
                    try:
                        p.wait(10)
                    except subprocess.TimeoutExpired:
                        p.kill()


@dataclass
class OverheadResult:
    rounds: int
    seconds: float
    connections: int
    per_variant: dict[str, list[WrkResult]]
    spans: dict[str, int]
    stack: str = "uvicorn"

    def median(self, variant: str, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in self.per_variant[variant]))

    def paired(self, variant: str, base: str, attr: str = "rps") -> float:
        """The median over rounds of ``variant``'s figure over ``base``'s in the same round.

        Each round runs every variant back to back, so a round's ratio compares them under
        the same stretch of the other tenants' load; the ratio of two medians would mix
        rounds taken under different loads."""
        return float(statistics.median(
            getattr(v, attr) / getattr(b, attr)
            for v, b in zip(self.per_variant[variant], self.per_variant[base], strict=True)))

    def extra_us(self, variant: str, base: str = "bare") -> float:
        """The median over rounds of the µs per request ``variant`` adds to ``base``."""
        return float(statistics.median(
            (1 / v.rps - 1 / b.rps) * 1e6
            for v, b in zip(self.per_variant[variant], self.per_variant[base], strict=True)))

    def requests(self, variant: str) -> int:
        return sum(r.requests for r in self.per_variant[variant])

    def errors(self, variant: str) -> int:
        return sum(r.errors for r in self.per_variant[variant])


def measure(rounds: int = 20, seconds: float = 3.0, connections: int = 32,
            warmup_s: float = 2.0, stack: str = "uvicorn") -> OverheadResult:
    with tempfile.TemporaryDirectory() as tmp, servers(VARIANTS, tmp, stack) as started:
        for s in started:
            wrk(f"http://127.0.0.1:{s.port}{TARGET_PATH}", warmup_s, connections)
        for r in range(rounds):
            # Rotate the order each round: no variant always runs first (or last).
            order = started[r % len(started):] + started[:r % len(started)]
            for s in order:
                s.results.append(wrk(f"http://127.0.0.1:{s.port}{TARGET_PATH}", seconds,
                                     connections))
        time.sleep(6)  # batch processors export on a 5 s schedule; receivers count each 0.5 s
        spans = {s.variant: s.spans() for s in started if s.variant in TRACED}
        return OverheadResult(rounds, seconds, connections,
                              {s.variant: s.results for s in started}, spans, stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--stack", choices=tuple(STACKS), default="uvicorn")
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--receive", metavar="COUNT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receive:
        receive(args.receive)
        return 0
    if args.serve:
        serve(args.serve, args.port, args.endpoint, args.stack)
        return 0
    res = measure(args.rounds, args.seconds, args.connections, stack=args.stack)
    print(f"{'variant':16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} "
          f"{'vs hand':>8} {'spans':>9}")
    for v in VARIANTS:
        with suppress(KeyError):
            print(f"{v:16} {res.median(v, 'rps'):8.0f} {res.median(v, 'p50_ms'):8.2f} "
                  f"{res.median(v, 'p99_ms'):8.2f} {res.paired(v, 'bare'):8.2f} "
                  f"{res.paired(v, 'hand-assembled'):8.2f} {res.spans.get(v, 0):9d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
