"""The fault-injection middleware, over real HTTP (httpx ASGI transport), off by default."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_observability import conventions as c
from crm_observability import errors
from crm_observability.demo import faults as faults_module
from crm_observability.demo.faults import FaultInjector, Faults, create_app, write_faults


def plain_app() -> Starlette:
    async def hello(request: object) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/hello", hello)])


async def get_many(app: object, n: int, path: str = "/hello") -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        return [await client.get(path) for _ in range(n)]


def test_no_file_means_no_faults(tmp_path: Path) -> None:
    app = FaultInjector(plain_app(), str(tmp_path / "missing.json"))
    responses = asyncio.run(get_many(app, 20))
    assert {r.status_code for r in responses} == {200}


def test_error_ratio_fails_that_share_with_a_500(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "faults.json"
    write_faults(path, Faults(error_ratio=0.5))
    app = FaultInjector(plain_app(), str(path), rng=random.Random(7))
    responses = asyncio.run(get_many(app, 200))
    failed = [r for r in responses if r.status_code == 500]
    assert 70 <= len(failed) <= 130
    assert failed[0].json() == {"error": "injected fault (crm-obs demo)"}
    # The file is re-read when it changes.
    monkeypatch.setattr(faults_module, "RELOAD_INTERVAL_S", 0.0)
    write_faults(path, Faults())
    time.sleep(0.01)
    path.touch()
    assert {r.status_code for r in asyncio.run(get_many(app, 20))} == {200}


def test_delay_slows_requests(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    write_faults(path, Faults(delay_ratio=1.0, delay_s=0.05))
    app = FaultInjector(plain_app(), str(path))
    started = time.perf_counter()
    assert {r.status_code for r in asyncio.run(get_many(app, 4))} == {200}
    assert time.perf_counter() - started >= 0.2


def test_broken_file_keeps_the_last_faults_and_is_counted(tmp_path: Path) -> None:
    errors.reset_for_tests()
    path = tmp_path / "faults.json"
    path.write_text("{not json")
    app = FaultInjector(plain_app(), str(path))
    assert app.current() == Faults()
    assert errors.failure_counts().get("demo.faults") == 1


def test_lifespan_passes_through(tmp_path: Path) -> None:
    seen = []

    async def inner(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(scope["type"])

    asyncio.run(FaultInjector(inner, str(tmp_path / "f.json"))({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]


def test_reference_service_counts_injected_errors_with_their_route(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "faults.json"
    write_faults(path, Faults(error_ratio=1.0))
    monkeypatch.setenv(faults_module.SERVICE_ENV, "leads")
    monkeypatch.setenv(faults_module.FAULTS_ENV, str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'leads.db'}")
    monkeypatch.setenv("CRM_OBS_TRACING_ENABLED", "false")
    app = create_app()
    from reference_services.common.auth import issue_token
    from reference_services.common.config import DEV_JWT_SECRET

    token = issue_token(DEV_JWT_SECRET, tenant="t1", user="u1")

    async def run() -> tuple[list[int], str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            codes = [(await client.get("/api/v1/leads")).status_code for _ in range(3)]
            return codes, (await client.get(c.METRICS_PATH)).text

    codes, exposition = asyncio.run(run())
    assert codes == [500, 500, 500]
    counts = {
        (s.labels.get(c.LABEL_HTTP_ROUTE), s.labels.get(c.LABEL_HTTP_STATUS)): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples if s.name == f"{c.HTTP_SERVER_DURATION}_count"}
    assert counts[("/api/v1/leads", "500")] == 3
