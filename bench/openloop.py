"""An open-loop HTTP/1.1 load generator: requests leave on a fixed timetable.

wrk is closed-loop: when the server slows down, wrk sends less, and the slow
period hides in fewer samples (coordinated omission).  Here request ``i`` is
due at ``start + i / rate`` whatever happened before; its latency is measured
from that *scheduled* time, so time spent waiting for a free connection counts.

Raw asyncio streams, keep-alive connections, minimal response parsing
(Content-Length or chunked): the generator must cost far less CPU than the
server it measures.

    .venv/bin/python -m bench.openloop --url http://127.0.0.1:8081/livez --rate 500 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["Endpoint", "OpenLoopResult", "Sample", "percentile", "run", "run_sync"]


@dataclass(frozen=True)
class Endpoint:
    """One kind of request in the mix; ``path``/``body`` may vary per request number."""

    name: str
    method: str = "GET"
    path: str | Callable[[int], str] = "/"
    body: bytes | Callable[[int], bytes] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    weight: int = 1
    host: str | None = None  # None: the run's host (several services in one mix)
    port: int | None = None


@dataclass(frozen=True)
class Sample:
    endpoint: str
    status: int  # 0: connection error or not answered before the end
    latency_s: float  # from the scheduled send time
    body: bytes = b""
    offset_s: float = 0.0  # scheduled send time, from the start of the run


@dataclass
class OpenLoopResult:
    rate: float
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    late_starts: int = 0  # requests that left > 10 ms after their scheduled time

    def by_endpoint(self) -> dict[str, list[Sample]]:
        out: dict[str, list[Sample]] = {}
        for s in self.samples:
            out.setdefault(s.endpoint, []).append(s)
        return out

    def latencies(self, endpoint: str | None = None, ok_only: bool = True) -> list[float]:
        return [s.latency_s for s in self.samples
                if (endpoint is None or s.endpoint == endpoint)
                and (not ok_only or 0 < s.status < 500)]

    def windows(self, seconds: float) -> list[OpenLoopResult]:
        """The run cut into consecutive windows of ``seconds`` by scheduled send time."""
        count = max(1, math.ceil(self.seconds / seconds))
        parts = [OpenLoopResult(self.rate, min(seconds, self.seconds - i * seconds))
                 for i in range(count)]
        for s in self.samples:
            parts[min(int(s.offset_s // seconds), count - 1)].samples.append(s)
        return parts

    def statuses(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for s in self.samples:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    @property
    def achieved_rate(self) -> float:
        return len(self.samples) / self.seconds if self.seconds else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class _Connection:
    """One keep-alive HTTP/1.1 connection; reopened after an error."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        reused = self.writer is not None
        try:
            return await self._request(raw)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            # The server closed an idle keep-alive connection (uvicorn: after 5 s) before
            # reading this request: resend once on a new one, as HTTP clients do.
            partial = getattr(exc, "partial", b"")
            if not reused or partial:
                raise
            self.close()
            return await self._request(raw)

    async def _request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        body = await (self._chunked() if chunked else self.reader.readexactly(length))
        if close:
            self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _raw(ep: Endpoint, n: int, host: str) -> bytes:
    path = ep.path(n) if callable(ep.path) else ep.path
    body = ep.body(n) if callable(ep.body) else ep.body
    lines = [f"{ep.method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in ep.headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


async def run(
    url: str,
    endpoints: Sequence[Endpoint],
    *,
    rate: float,
    seconds: float,
    connections: int = 64,
    grace_s: float = 5.0,
    keep_bodies: bool = False,
) -> OpenLoopResult:
    """Offer ``rate`` req/s for ``seconds`` from the ``endpoints`` mix (by weight)."""
    base = urlsplit(url)
    host, port = base.hostname or "127.0.0.1", base.port or 80
    # A fixed, deterministic mix: endpoint k appears weight_k times per cycle.
    cycle = [ep for ep in endpoints for _ in range(ep.weight)]
    total = int(rate * seconds)
    result = OpenLoopResult(rate=rate, seconds=seconds)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    counters: dict[str, int] = {}

    async def worker() -> None:
        conns: dict[tuple[str, int], _Connection] = {}
        while True:
            item = await queue.get()
            if item is None:
                break
            n, due = item
            ep = cycle[n % len(cycle)]
            target = (ep.host or host, ep.port or port)
            conn = conns.get(target) or conns.setdefault(target, _Connection(*target))
            k = counters[ep.name] = counters.get(ep.name, 0) + 1
            if time.perf_counter() - due > 0.01:
                result.late_starts += 1
            try:
                status, body = await conn.request(_raw(ep, k, target[0]))
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                conn.close()
                status, body = 0, b""
            result.samples.append(Sample(ep.name, status, time.perf_counter() - due,
                                         body if keep_bodies else b"", due - start))
        for conn in conns.values():
            conn.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter() + 0.05
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        queue.put_nowait((n, due))
    for _ in workers:
        queue.put_nowait(None)
    _, pending = await asyncio.wait(workers, timeout=grace_s)
    for task in pending:
        task.cancel()
    # Requests never answered within the grace period count as failures (status 0).
    unanswered = total - len(result.samples)
    end = time.perf_counter()
    result.samples.extend(Sample("unanswered", 0, end - start, b"", seconds)
                          for _ in range(unanswered))
    return result


def run_sync(url: str, endpoints: Sequence[Endpoint], **kwargs: float | int | bool
             ) -> OpenLoopResult:
    """:func:`run` on a fresh event loop."""
    return asyncio.run(run(url, endpoints, **kwargs))  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="http://host:port/path")
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    path = urlsplit(args.url).path or "/"
    res = run_sync(args.url, [Endpoint("url", path=path)], rate=args.rate,
                   seconds=args.seconds, connections=args.connections)
    lat = res.latencies()
    print(f"offered {args.rate:.0f} req/s for {args.seconds:.0f} s: {len(res.samples)} requests,"
          f" statuses {res.statuses()}, p50 {percentile(lat, 50) * 1e3:.1f} ms,"
          f" p95 {percentile(lat, 95) * 1e3:.1f} ms, p99 {percentile(lat, 99) * 1e3:.1f} ms,"
          f" late starts {res.late_starts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
