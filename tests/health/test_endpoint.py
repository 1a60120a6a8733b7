"""The health endpoint over real HTTP: paths, status codes, formats and detail visibility."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.health import Health, HealthRegistry, endpoint
from crm_observability.health.formats import wants_health_json
from crm_observability.settings import Settings
from tests.health.helpers import fetch, run
from tests.support import uvicorn_server

HEALTH_JSON = names.HEALTH_JSON_MEDIA_TYPE


def registry(show: str = "always", authorizer: Any = None, **kw: Any) -> HealthRegistry:
    settings = Settings(service_name="contacts", service_version="2.4.1",
                        health_show_details=show, **kw)  # type: ignore[arg-type]
    return HealthRegistry(settings, authorizer=authorizer)


@pytest.mark.parametrize(("path", "component"), [
    (names.HEALTH_PATH, "db"),
    (names.HEALTH_PATH + "/", "db"),
    (names.LIVENESS_PATH, names.HEALTH_PING),
    (names.LIVEZ_PATH, names.HEALTH_PING),
    (names.READINESS_PATH, "db"),
    (names.READYZ_PATH, "db"),
    (names.STARTUP_PATH, names.HEALTH_STARTUP_STATE),
])
def test_paths_answer_their_group(path: str, component: str) -> None:
    reg = registry()
    reg.add("db", lambda: True)
    reg.mark_started()
    resp = fetch(reg, path)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["status"] == "UP" and component in body["components"]
    assert reg.handles(path)


def test_handles_only_health_paths() -> None:
    reg = registry()
    assert reg.handles(names.HEALTH_PATH + "/anything")
    assert not reg.handles("/actuator/healthz")
    assert not reg.handles(names.METRICS_PATH)
    assert not reg.handles("/")


KNOWN_HEALTH_PATHS = (names.HEALTH_PATH, names.HEALTH_PATH + "/", names.LIVENESS_PATH,
                      names.LIVEZ_PATH, names.READINESS_PATH, names.READYZ_PATH,
                      names.STARTUP_PATH)


@given(st.one_of(
    st.text(alphabet=sorted(set("".join(KNOWN_HEALTH_PATHS))), max_size=30),
    st.sampled_from(KNOWN_HEALTH_PATHS).flatmap(
        lambda p: st.text(alphabet="/abz", max_size=4).map(lambda tail: p + tail)),
))
@settings(max_examples=500, deadline=None)
def test_every_health_path_is_in_the_middlewares_prefilter(path: str) -> None:
    """The middleware asks route() only for EXACT_PATHS and paths under PREFIXES."""
    if endpoint.route(path) is not None:
        assert path in endpoint.EXACT_PATHS or path.startswith(endpoint.PREFIXES)


def test_the_prefilter_lets_the_middleware_answer_every_health_path() -> None:
    from fastapi import FastAPI

    from crm_observability import instrument

    app = FastAPI()

    @app.get("/{anything:path}")
    async def catch_all(anything: str) -> dict[str, str]:
        return {"app": anything}

    instrument(app, Settings.for_profile("testing", service_name="prefilter"),
              log_stream=io.StringIO())

    async def probe(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(path)

    for path in KNOWN_HEALTH_PATHS:
        assert "app" not in asyncio.run(probe(path)).json(), path
    assert asyncio.run(probe("/actuator/healthz")).json() == {"app": "actuator/healthz"}


def test_failing_dependency_answers_503_on_readiness_only() -> None:
    reg = registry()
    reg.add("db", lambda: False)
    assert fetch(reg, names.READYZ_PATH).status_code == 503
    assert fetch(reg, names.HEALTH_PATH).json()["components"]["db"] == {"status": "DOWN"}
    assert fetch(reg, names.LIVEZ_PATH).status_code == 200


def test_root_lists_groups_and_degraded_checks() -> None:
    reg = registry()
    reg.add("deals-service", lambda: False, critical=False)
    resp = fetch(reg, names.HEALTH_PATH)
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "UP"
    assert body["degraded"] == ["deals-service"]
    assert body["groups"] == ["liveness", "readiness", "startup"]


def test_shutdown_drains_readiness() -> None:
    reg = registry()
    assert fetch(reg, names.READYZ_PATH).status_code == 200
    reg.begin_shutdown()
    resp = fetch(reg, names.READYZ_PATH)
    assert resp.status_code == 503 and resp.json()["status"] == "OUT_OF_SERVICE"
    assert fetch(reg, names.LIVEZ_PATH).status_code == 200


def test_unknown_group_is_404_json() -> None:
    resp = fetch(registry(), names.HEALTH_PATH + "/db/extra")
    assert resp.status_code == 404
    assert resp.json() == {
        "status": 404, "error": "Not Found", "path": "/actuator/health/db/extra",
        "message": "no health group 'db/extra'; known groups: liveness, readiness, startup"}
    head = fetch(registry(), names.HEALTH_PATH + "/nope", method="HEAD")
    assert head.status_code == 404 and head.content == b""


def test_paths_outside_health_are_404_when_called_directly() -> None:
    assert fetch(registry(), "/elsewhere").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_are_405(method: str) -> None:
    resp = fetch(registry(), names.READYZ_PATH, method=method)
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, HEAD"
    assert resp.json()["message"] == f"{method} is not supported; use GET or HEAD"


def test_head_has_status_and_headers_but_no_body() -> None:
    reg = registry()
    reg.add("db", lambda: False)
    get = fetch(reg, names.READYZ_PATH)
    head = fetch(reg, names.READYZ_PATH, method="HEAD")
    assert head.status_code == get.status_code == 503
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def bearer_ok(headers: Mapping[str, str]) -> bool:
    return headers.get("authorization") == "Bearer ops"


async def async_bearer_ok(headers: Mapping[str, str]) -> bool:
    await asyncio.sleep(0)
    return headers.get("authorization") == "Bearer ops"


@pytest.mark.parametrize(("show", "authorizer", "headers", "details"), [
    ("never", bearer_ok, {"authorization": "Bearer ops"}, False),
    ("always", None, {}, True),
    ("when-authorized", None, {"authorization": "Bearer ops"}, False),
    ("when-authorized", bearer_ok, {}, False),
    ("when-authorized", bearer_ok, {"authorization": "Bearer guess"}, False),
    ("when-authorized", bearer_ok, {"authorization": "Bearer ops"}, True),
    ("when-authorized", async_bearer_ok, {"authorization": "Bearer ops"}, True),
    ("when-authorized", async_bearer_ok, {}, False),
])
def test_detail_visibility(show: str, authorizer: Any, headers: dict[str, str],
                           details: bool) -> None:
    reg = registry(show, authorizer)
    reg.add("db", lambda: Health.down(error="connection refused", host="db.internal"))
    body = fetch(reg, names.READYZ_PATH, headers=headers).json()
    if details:
        assert body["components"]["db"]["details"] == {"error": "connection refused",
                                                       "host": "db.internal"}
    else:
        assert body == {"status": "DOWN"}  # public: the status and nothing else
    ietf = fetch(reg, names.READYZ_PATH, headers={**headers, "accept": HEALTH_JSON}).json()
    assert ("checks" in ietf) is details
    if not details:
        assert ietf == {"status": "fail"}


def test_raising_authorizer_hides_details_and_is_counted() -> None:
    errors.reset_for_tests()

    def broken(headers: Mapping[str, str]) -> bool:
        raise RuntimeError("jwks unreachable")

    resp = fetch(registry("when-authorized", broken), names.LIVEZ_PATH)
    assert resp.status_code == 200 and resp.json() == {"status": "UP"}
    assert errors.failure_counts() == {"health.authorizer": 1}


def test_health_json_shape() -> None:
    reg = registry()
    reg.add("db", lambda: Health.up(database="postgresql"))
    reg.add("deals-service", lambda: Health.down(error="HTTP 502"), critical=False)
    resp = fetch(reg, names.READYZ_PATH, headers={"accept": HEALTH_JSON})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == HEALTH_JSON
    body = resp.json()
    assert {k: body[k] for k in ("status", "version", "releaseId", "serviceId")} == {
        "status": "warn", "version": "2", "releaseId": "2.4.1", "serviceId": "contacts"}
    db = body["checks"]["db:responseTime"][0]
    assert db["componentId"] == "db" and db["status"] == "pass"
    assert db["observedUnit"] == "ms" and 0 <= db["observedValue"] < 1000
    assert db["details"] == {"database": "postgresql"}
    assert "T" in db["time"] and db["time"].endswith("+00:00")
    deals = body["checks"]["deals-service:responseTime"][0]
    assert deals["status"] == "fail" and deals["output"] == "HTTP 502"
    assert "details" not in deals


def test_health_json_fail_is_503() -> None:
    reg = registry()
    reg.add("db", lambda: False)
    resp = fetch(reg, names.READYZ_PATH, headers={"accept": HEALTH_JSON})
    assert resp.status_code == 503 and resp.json()["status"] == "fail"


@pytest.mark.parametrize(("accept", "wanted"), [
    (None, False),
    ("", False),
    ("application/json", False),
    (HEALTH_JSON, True),
    (f"{HEALTH_JSON}, application/json;q=0.9", True),
    (f"application/json, {HEALTH_JSON};q=0.5", False),
    (f"{HEALTH_JSON};q=0", False),
    (f"{HEALTH_JSON};q=abc, */*", False),
    (f"text/html;level=1, {HEALTH_JSON}, */*;q=0.1", True),
    ("APPLICATION/HEALTH+JSON;Q=0.8, ,text/plain", True),
])
def test_accept_negotiation(accept: str | None, wanted: bool) -> None:
    assert wants_health_json(accept) is wanted


def test_unserialisable_details_still_answer() -> None:
    errors.reset_for_tests()

    class Nasty:
        def __str__(self) -> str:
            raise ValueError("cannot print me")

    reg = registry()
    reg.add("odd", lambda: Health.up(thing=Nasty()))
    resp = fetch(reg, names.READYZ_PATH)
    assert resp.status_code == 503 and resp.json() == {"status": "DOWN"}
    assert errors.failure_counts() == {"health.endpoint": 1}
    # plain objects are rendered with str()
    reg2 = registry()
    reg2.add("obj", lambda: Health.up(when=time.struct_time((2026,) + (1,) * 8)))
    assert fetch(reg2, names.READYZ_PATH).status_code == 200


def test_non_http_scopes_are_ignored() -> None:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "lifespan.startup"}

    run(registry()({"type": "lifespan"}, receive, send))
    assert sent == []


def test_real_uvicorn_hung_dependency_answers_within_one_second() -> None:
    reg = registry()

    async def hang() -> bool:
        await asyncio.sleep(10)
        return True

    reg.add("hung", hang)
    with uvicorn_server(reg) as base, httpx.Client(base_url=base, timeout=5) as client:
        assert client.get(names.LIVEZ_PATH).status_code == 200
        start = time.perf_counter()
        resp = client.get(names.READYZ_PATH)
        elapsed = time.perf_counter() - start
        assert resp.status_code == 503
        assert resp.json()["components"]["hung"] == {
            "status": "DOWN", "details": {"error": "timeout after 0.8s"}}
        assert elapsed < 1.0
        head = client.head(names.READYZ_PATH)
        assert head.status_code == 503 and head.content == b""
        assert client.post(names.READYZ_PATH).status_code == 405
