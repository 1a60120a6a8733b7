"""Small pieces without a server: active users, config, tokens, the body limit, the cache."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI, Request

from reference_services.common.activity import ActiveUsers
from reference_services.common.auth import (
    VerifiedTokens,
    decode_token,
    health_authorizer,
    issue_token,
)
from reference_services.common.config import DEV_JWT_SECRET, ConfigError, ServiceConfig
from reference_services.common.errors import ApiError, BodySizeLimit, install_error_handlers
from tests.services.conftest import SECRET

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_active_users_is_a_sliding_window() -> None:
    clock = Clock()
    users = ActiveUsers(window_s=300, clock=clock)
    users.seen("t1", "alice")
    clock.now += 100
    users.seen("t1", "bob")
    users.seen("t2", "alice")
    assert users.count() == 3
    clock.now += 250  # alice@t1 last seen 350 s ago
    assert users.count() == 2
    users.seen("t2", "alice")  # seen again: stays in
    clock.now += 100
    assert users.count() == 1


def test_active_users_stays_bounded() -> None:
    users = ActiveUsers(max_users=100, clock=Clock())
    for n in range(1000):
        users.seen("t", f"u{n}")
    assert users.count() == 100


def test_config_from_env_and_its_errors() -> None:
    config = ServiceConfig.from_env("deals", {
        "DATABASE_URL": "postgresql://db/crm", "REDIS_URL": "redis://r:6379/1",
        "CONTACTS_SERVICE_URL": "http://contacts:8081", "CRM_DB_POOL_SIZE": "20"})
    assert (config.url, config.redis_url, config.contacts_url, config.db_pool_size) == (
        "postgresql://db/crm", "redis://r:6379/1", "http://contacts:8081", 20)
    assert ServiceConfig.from_env("leads", {}).url == "sqlite:///crm-leads.db"
    with pytest.raises(ConfigError, match="CRM_MAX_BODY_BYTES: 'big' is not an integer"):
        ServiceConfig.from_env("leads", {"CRM_MAX_BODY_BYTES": "big"})
    with pytest.raises(ConfigError, match="db_pool_size: 0 must be at least 1"):
        ServiceConfig.from_env("leads", {"CRM_DB_POOL_SIZE": "0"})
    with pytest.raises(ConfigError, match="service: 'billing' is not one of"):
        ServiceConfig(service="billing")
    with pytest.raises(ConfigError, match="must be set in production"):
        ServiceConfig.from_env("contacts", {"CRM_OBS_ENVIRONMENT": "production"})
    assert ServiceConfig().replace(service="deals").jwt_secret == DEV_JWT_SECRET


@pytest.mark.parametrize(("claims", "message"), [
    ({"tenant": "t"}, "invalid token"),  # no sub
    ({"sub": "u", "tenant": "bad tenant"}, "claim 'tenant' must match"),
    ({"sub": "u", "tenant": "t", "roles": "crm.read"}, "claim 'roles' must be a list"),
])
def test_tokens_with_bad_claims_are_401(claims: dict[str, object], message: str) -> None:
    import jwt

    raw = jwt.encode({**claims, "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    with pytest.raises(ApiError, match=message) as caught:
        decode_token(SECRET, raw)
    assert caught.value.status == 401


def test_expired_and_foreign_tokens_are_401() -> None:
    old = issue_token(SECRET, tenant="t", user="u", now=time.time() - 90_000)
    with pytest.raises(ApiError, match="token has expired"):
        decode_token(SECRET, old)
    foreign = issue_token("another-secret-that-is-long-enough-000", tenant="t", user="u")
    with pytest.raises(ApiError, match="Signature verification failed"):
        decode_token(SECRET, foreign)
    authorize = health_authorizer(SECRET)
    assert authorize({"authorization": f"Bearer {issue_token(SECRET, tenant='t', user='u')}"})
    assert not authorize({"authorization": f"Bearer {foreign}"})
    assert not authorize({"authorization": "Basic abc"})
    assert not authorize({})


def test_verified_tokens_are_reused_only_until_they_expire() -> None:
    clock = Clock()
    clock.now = time.time()
    tokens = VerifiedTokens(max_entries=2, clock=clock)
    raw = issue_token(SECRET, tenant="t", user="u", ttl_s=60, now=clock.now)
    first = tokens.decode(SECRET, raw)
    assert first.tenant_id == "t" and tokens.decode(SECRET, raw) is first  # cached
    # Never served for another secret: the signature is checked again, and fails.
    with pytest.raises(ApiError, match="Signature verification failed"):
        tokens.decode("another-secret-that-is-long-enough-000", raw)
    with pytest.raises(ApiError, match="invalid token"):
        tokens.decode(SECRET, raw + "x")
    # An entry is used only before its exp: seed one for a token PyJWT now refuses.
    old = issue_token(SECRET, tenant="t", user="old", now=time.time() - 90_000)
    tokens._entries[(SECRET, old)] = (first, clock.now + 10)
    assert tokens.decode(SECRET, old) is first
    clock.now += 11
    with pytest.raises(ApiError, match="token has expired"):
        tokens.decode(SECRET, old)
    assert (SECRET, old) not in tokens._entries
    for n in range(5):  # bounded
        tokens.decode(SECRET, issue_token(SECRET, tenant="t", user=f"u{n}"))
    assert len(tokens._entries) <= 2


async def test_streamed_body_over_the_limit_is_413() -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=10)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(5):
            yield b"abcdef"

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as c:
        assert (await c.post("/echo", content=b"12345")).json() == {"size": 5}
        r = await c.post("/echo", content=chunks())  # no content-length: counted as it streams
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
        r = await c.post("/echo", content=b"x" * 11)
        assert r.status_code == 413
        r = await c.post("/echo", content=b"1", headers={"content-length": "abc"})
        assert r.status_code == 413


@pytest.mark.parametrize("service", ["contacts", "deals", "leads", "accounts"])
def test_module_level_app_for_uvicorn(service: str, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: object) -> None:
    import importlib

    import reference_services

    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    module = importlib.import_module(f"reference_services.{service}.app")
    monkeypatch.delitem(module.__dict__, "app", raising=False)
    try:
        app = module.app
        assert isinstance(app, FastAPI) and app.title == f"{service}-service"
        assert module.app is app  # built once
        assert app.state.service.config.url == f"sqlite:///crm-{service}.db"
        package = importlib.import_module(f"reference_services.{service}")
        assert isinstance(package.create_app(), FastAPI)
        with pytest.raises(AttributeError):
            _ = module.not_there
    finally:
        module.__dict__.pop("app", None)
    assert reference_services.__version__


def test_subpackages_export_sorted_names_that_resolve() -> None:
    import importlib
    import pkgutil

    import reference_services

    for info in pkgutil.walk_packages(reference_services.__path__, "reference_services."):
        if not info.ispkg:
            continue
        module = importlib.import_module(info.name)
        exported = list(module.__all__)
        assert exported == sorted(exported), info.name
        for name in exported:
            assert getattr(module, name) is not None, f"{info.name}.{name}"
    with pytest.raises(AttributeError):
        _ = importlib.import_module("reference_services.common").nothing
