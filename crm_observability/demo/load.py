"""A steady load on the four reference services (reads, searches and a few writes)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

SLOW_S = 0.5  # the latency SLOs' threshold, for the progress display
API = "/api/v1"


@dataclass(frozen=True)
class ServiceStats:
    requests: int = 0
    server_errors: int = 0  # 5xx
    failed: int = 0  # no answer (connection error, timeout)
    slow: int = 0  # answered after more than SLOW_S


Body = Callable[[int], dict[str, Any]] | None

# (service, method, path, body factory): one round of the mix
REQUEST_MIX: tuple[tuple[str, str, str, Body], ...] = (
    ("contacts", "GET", f"{API}/contacts?size=20", None),
    ("contacts", "GET", f"{API}/contacts?q=Contact", None),
    ("deals", "GET", f"{API}/deals?size=20", None),
    ("deals", "GET", f"{API}/deals/pipeline", None),
    ("leads", "GET", f"{API}/leads?size=20", None),
    ("accounts", "GET", f"{API}/accounts?size=20", None),
    ("deals", "GET", f"{API}/deals/1", None),
    ("contacts", "POST", f"{API}/contacts", lambda i: {
        "first_name": "Load", "last_name": f"Gen{i}", "email": f"load{i}@example.com"}),
    ("deals", "POST", f"{API}/deals", lambda i: {
        "title": f"Load deal {i}", "amount": 1000 + i % 500, "contact_id": 1 + i % 20}),
    ("deals", "GET", f"{API}/deals?size=5", None),
)


class LoadGenerator:
    """``threads`` workers sending ``rate`` requests per second in total, until stopped."""

    def __init__(self, urls: Mapping[str, str], token: str, *, rate: float = 20.0,
                 threads: int = 4, timeout_s: float = 5.0) -> None:
        self.urls = dict(urls)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.interval = threads / rate
        self.timeout_s = timeout_s
        self._threads = [threading.Thread(target=self._work, args=(i,), daemon=True,
                                          name=f"demo-load-{i}") for i in range(threads)]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stats = {service: ServiceStats() for service in self.urls}
        self._counter = itertools.count()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=self.timeout_s + 1)

    def stats(self) -> dict[str, ServiceStats]:
        with self._lock:
            return dict(self._stats)

    def _record(self, service: str, status: int | None, elapsed: float) -> None:
        with self._lock:
            s = self._stats[service]
            self._stats[service] = replace(
                s, requests=s.requests + 1,
                server_errors=s.server_errors + (status is not None and status >= 500),
                failed=s.failed + (status is None), slow=s.slow + (elapsed > SLOW_S))

    def _work(self, worker: int) -> None:
        with httpx.Client(headers=self.headers, timeout=self.timeout_s) as client:
            position = worker
            while not self._stop.is_set():
                started = time.monotonic()
                service, method, path, body = REQUEST_MIX[position % len(REQUEST_MIX)]
                position += 1
                n = next(self._counter)
                status: int | None
                try:
                    response = client.request(method, self.urls[service] + path,
                                              json=body(n) if body else None)
                    status = response.status_code
                except httpx.HTTPError:
                    status = None
                elapsed = time.monotonic() - started
                self._record(service, status, elapsed)
                self._stop.wait(max(self.interval - elapsed, 0.0))
