"""A health check that hangs: the probe still answers within 1 s (the Kubernetes default).

One check never returns (async), another blocks its thread (sync); both are in the
readiness group.  Through a real uvicorn on loopback, readiness answers 503 with
both checks DOWN, every time, within 1 s; liveness answers 200.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from crm_observability import Settings, instrument
from crm_observability import conventions as names
from tests.faults.servers import free_port

PROBES = 5


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the blocked thread go


@pytest.fixture
def hung_app(release: threading.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, Any]:
        return {"ok": True}

    obs = instrument(app, Settings.for_profile("testing", service_name="hang",
                                               health_show_details="always",
                                               health_timeout_s=0.5, health_cache_ttl_s=0.0))

    async def never() -> bool:
        await asyncio.Event().wait()
        return True

    def blocked() -> bool:
        release.wait(60)
        return True

    obs.health.add("never-answers", never, groups=("readiness",))
    obs.health.add("blocks-thread", blocked, groups=("readiness",))
    return app


def _serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.mark.slow
def test_hung_checks_do_not_hang_the_probe(hung_app: FastAPI) -> None:
    server, thread, url = _serve(hung_app)
    try:
        with httpx.Client(base_url=url, timeout=5) as c:
            for _ in range(PROBES):
                for path in (names.READINESS_PATH, names.READYZ_PATH):
                    start = time.monotonic()
                    resp = c.get(path)
                    elapsed = time.monotonic() - start
                    assert elapsed < 1.0, f"{path} took {elapsed:.2f} s"
                    assert resp.status_code == 503
                    components = resp.json()["components"]
                    assert components["never-answers"]["status"] == "DOWN"
                    assert components["blocks-thread"]["status"] == "DOWN"
                start = time.monotonic()
                assert c.get(names.LIVENESS_PATH).status_code == 200
                assert time.monotonic() - start < 1.0
            assert c.get("/api/v1/ping").status_code == 200  # the app itself is fine
    finally:
        server.should_exit = True
        thread.join(10)
