"""Rendering ``/metrics``: content negotiation, multiprocess merge, failure containment.

OpenMetrics (which carries exemplars) only when the scraper's Accept header asks
for it (client_python #932); Prometheus text 0.0.4 otherwise.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_observability.errors import report_failure
from crm_observability.metrics.multiprocess import multiprocess_dir
from crm_observability.metrics.state import scrape_safe_collectors

if TYPE_CHECKING:
    from crm_observability.metrics.registry import MetricsRegistry


_GZIP_MIN_BYTES = 1024


class _Contained:
    """A registry view that skips a collector whose ``collect`` raises."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        # prometheus_client keeps no public collector list; this is its own field.
        with self._registry._lock:
            collectors = list(self._registry._collector_to_names)
        for collector in collectors:
            try:
                yield from list(collector.collect())
            except Exception as exc:
                report_failure("metrics", exc)


def _source(registry: CollectorRegistry) -> CollectorRegistry:
    path = multiprocess_dir()
    if path is None:
        return registry
    # Merge every worker's files; only process-independent collectors are added
    # (per-worker ones would jump between scrapes).
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path)  # type: ignore[no-untyped-call]
    for collector in scrape_safe_collectors(registry):
        merged.register(collector)
    return merged


def render_exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The exposition body and its Content-Type for a scraper sending ``accept``."""
    encoder, content_type = choose_encoder(accept or "")
    try:
        source = _source(registry)
    except Exception as exc:  # e.g. the multiprocess directory was removed
        report_failure("metrics", exc)
        source = registry
    try:
        return encoder(source), content_type
    except Exception as exc:
        report_failure("metrics", exc)
    try:
        return encoder(_Contained(source)), content_type
    except Exception as exc:  # a collector yielded something the encoder cannot write
        report_failure("metrics", exc)
        return b"", content_type


def metrics_asgi_app(metrics: MetricsRegistry) -> ASGIApp:
    """An ASGI app serving ``metrics`` on GET and HEAD (405 otherwise)."""
    registry = metrics.registry

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b"method not allowed\n", "text/plain; charset=utf-8",
                           [(b"allow", b"GET, HEAD")])
            return
        headers = dict(scope.get("headers") or ())
        accept = headers.get(b"accept", b"").decode("latin-1")
        body, content_type = render_exposition(registry, accept)
        extra: list[tuple[bytes, bytes]] = []
        if len(body) >= _GZIP_MIN_BYTES and b"gzip" in headers.get(b"accept-encoding", b""):
            body = gzip.compress(body, compresslevel=1)
            extra.append((b"content-encoding", b"gzip"))
        if scope["method"] == "HEAD":
            await _respond(send, 200, b"", content_type, extra, length=len(body))
            return
        await _respond(send, 200, body, content_type, extra)

    return app


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]],
    length: int | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body) if length is None else length).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
