"""Fault injection for the demo's incident, off unless ``CRM_DEMO_FAULTS`` names a file.

The demo starts each reference service through :func:`create_app` (a uvicorn
factory); when ``CRM_DEMO_FAULTS`` is set, a small ASGI middleware reads the JSON
file it names (re-read when it changes, at most twice a second)::

    {"error_ratio": 0.3, "delay_ratio": 0.0, "delay_s": 0.0}

and fails or delays that share of requests.  It sits inside the observability
middleware, after routing, so injected errors are counted like real ones with
their route template.  The services' own code is untouched.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from starlette.types import Receive, Scope, Send

from crm_observability.errors import report_failure

FAULTS_ENV = "CRM_DEMO_FAULTS"
SERVICE_ENV = "CRM_DEMO_SERVICE"
RELOAD_INTERVAL_S = 0.5
_INJECTED_BODY = b'{"error":"injected fault (crm-obs demo)"}'



@dataclass(frozen=True)
class Faults:
    error_ratio: float = 0.0
    delay_ratio: float = 0.0
    delay_s: float = 0.0

    def to_json(self) -> str:
        return json.dumps({"error_ratio": self.error_ratio, "delay_ratio": self.delay_ratio,
                           "delay_s": self.delay_s})


def write_faults(path: Path, faults: Faults) -> None:
    """Atomically replace the fault file (the services re-read it)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(faults.to_json(), encoding="utf-8")
    tmp.replace(path)


class FaultInjector:
    """ASGI middleware: fail ``error_ratio`` of requests with a 500, delay ``delay_ratio``."""

    def __init__(self, app: Any, path: str, *, rng: random.Random | None = None) -> None:
        self.app = app
        self.path = Path(path)
        self.rng = rng or random.Random()
        self._faults = Faults()
        self._checked = 0.0
        self._mtime = 0.0

    def current(self) -> Faults:
        now = time.monotonic()
        if now - self._checked >= RELOAD_INTERVAL_S:
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime
                if mtime != self._mtime:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                    self._faults = Faults(**{k: float(v) for k, v in data.items()})
                    self._mtime = mtime
            except FileNotFoundError:
                self._faults = Faults()
            except (OSError, ValueError, TypeError) as exc:
                report_failure("demo.faults", exc)  # keep the last good faults
        return self._faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        faults = self.current()
        if faults.delay_s > 0 and self.rng.random() < faults.delay_ratio:
            await asyncio.sleep(faults.delay_s)
        if self.rng.random() >= faults.error_ratio:
            await self.app(scope, receive, send)
            return

        # Let the app route and answer (so the route label is real), then swap its
        # response for a 500.
        async def failing_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                return
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await send({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_INJECTED_BODY)).encode())]})
                await send({"type": "http.response.body", "body": _INJECTED_BODY})

        await self.app(scope, receive, failing_send)


def create_app() -> Any:
    """uvicorn factory: the reference service named by ``CRM_DEMO_SERVICE``, with faults."""
    service = os.environ.get(SERVICE_ENV, "")
    # The shared package first: importing a service's models before it can close an
    # import cycle through reference_services.common (seed imports every model).
    import_module("reference_services.common")
    module = import_module(f"reference_services.{service}.app")
    app = module.create_app()
    path = os.environ.get(FAULTS_ENV)
    if path:
        app.add_middleware(FaultInjector, path=path)
    return app
