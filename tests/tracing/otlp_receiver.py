"""A real OTLP/HTTP trace receiver on 127.0.0.1 for tests and benchmarks.

It decodes each ``POST /v1/traces`` body as an ``ExportTraceServiceRequest``
(``opentelemetry.proto``) and keeps the spans, flattened with their resource
attributes.  ``mode`` makes it a broken collector on purpose:

- ``"ok"``: 200 with an empty ``ExportTraceServiceResponse``;
- ``"hang"``: accepts the connection, reads the request, never answers
  (until :meth:`close`);
- an int (e.g. 400, 503): answers with that status.

Usage::

    with OtlpReceiver() as rx:
        settings = Settings(otlp_endpoint=rx.endpoint)     # base URL
        ...
        spans = rx.wait_for_spans(1)
        assert spans[0].resource["service.name"] == "contacts"
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.support import free_port

__all__ = ["OtlpReceiver", "ReceivedSpan", "free_port"]



def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


@dataclass(frozen=True)
class ReceivedSpan:
    """One decoded span with its resource and scope (ids as lowercase hex)."""

    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    status_code: int
    events: tuple[str, ...] = field(default=())


class OtlpReceiver:
    """Threaded HTTP server speaking OTLP/HTTP protobuf for traces."""

    def __init__(self, mode: str | int = "ok") -> None:
        self.mode = mode
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []  # per request, names in lower case
        self.hits = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._record(self.path, headers, body)
                mode = receiver.mode
                if mode == "hang":
                    receiver._release.wait()
                    return
                if self.path != "/v1/traces":
                    self._answer(404, b"")
                elif isinstance(mode, int):
                    self._answer(mode, b"")
                else:
                    self._answer(200, ExportTraceServiceResponse().SerializeToString())

            def _answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        encoding = headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self._arrived:
            self.hits += 1
            if path == "/v1/traces":
                self.requests.append(request)
                self.headers.append(headers)
            self._arrived.notify_all()

    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far, in arrival order."""
        out: list[ReceivedSpan] = []
        with self._lock:
            requests = list(self.requests)
        for request in requests:
            for rs in request.resource_spans:
                resource = _attributes(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append(ReceivedSpan(
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes=_attributes(span.attributes),
                            resource=resource,
                            scope=ss.scope.name,
                            status_code=span.status.code,
                            events=tuple(e.name for e in span.events),
                        ))
        return out

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> int:
        """Block until ``n`` POSTs arrived (any path, any mode); returns the count seen."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while self.hits < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return self.hits

    def wait_for_spans(self, n: int, timeout: float = 5.0) -> list[ReceivedSpan]:
        """Block until at least ``n`` spans arrived (or ``timeout``); returns them."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if len(spans) >= n or time.monotonic() >= deadline:
                return spans
            with self._arrived:
                self._arrived.wait(0.05)

    def close(self) -> None:
        self._release.set()  # let hung handlers finish
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> OtlpReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
