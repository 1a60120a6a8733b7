"""The demo's Alertmanager receiver: a loopback webhook that keeps what it is sent."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from crm_observability import conventions as names

WEBHOOK_PATH = "/alerts"


@dataclass(frozen=True)
class ReceivedAlert:
    """One alert of one Alertmanager notification."""

    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    received_at: float

    @property
    def name(self) -> str:
        return self.labels.get(names.LABEL_ALERTNAME, "")


class AlertReceiver:
    """``with AlertReceiver() as r: ... r.url ... r.alerts()``."""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Lock()
        self._alerts: list[ReceivedAlert] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                status = 404 if self.path != WEBHOOK_PATH else 200
                if status == 200:
                    status = receiver._accept(self.rfile.read(length))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="demo-webhook")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{WEBHOOK_PATH}"

    def _accept(self, body: bytes) -> int:
        try:
            payload: Any = json.loads(body)
            items = payload["alerts"]
            alerts = [ReceivedAlert(str(a.get("status", "")), dict(a.get("labels", {})),
                                    dict(a.get("annotations", {})), str(a.get("startsAt", "")),
                                    time.time()) for a in items]
        except (ValueError, KeyError, TypeError, AttributeError):
            return 400
        with self._lock:
            self._alerts.extend(alerts)
        return 200

    def alerts(self) -> list[ReceivedAlert]:
        with self._lock:
            return list(self._alerts)

    def firing(self) -> dict[tuple[str, str, str], ReceivedAlert]:
        """Alerts received as firing, by (alert name, service, slo); first notification kept."""
        out: dict[tuple[str, str, str], ReceivedAlert] = {}
        for alert in self.alerts():
            if alert.status == "firing":
                key = (alert.name, alert.labels.get(names.LABEL_SERVICE, ""),
                       alert.labels.get(names.LABEL_SLO, ""))
                out.setdefault(key, alert)
        return out

    def __enter__(self) -> AlertReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
