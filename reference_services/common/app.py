"""The app factory shared by the four services.

``build_app`` wires, in order: error handlers and the body-size limit, the
database (migrations applied before the app serves), ``instrument()`` (the
library does all observability), pool metrics, the active-users gauge, the
optional Redis cache, health checks, and the service's router.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from crm_observability import Settings
from crm_observability import conventions as names
from crm_observability.context import bind
from crm_observability.errors import report_failure
from crm_observability.health import (
    CallableHealthIndicator,
    Health,
    HttpHealthIndicator,
    RedisHealthIndicator,
    SqlAlchemyHealthIndicator,
)
from crm_observability.instrumentation import Instrumentation, instrument
from crm_observability.metrics import register_sqlalchemy_pool
from crm_observability.tracing import set_span_attributes
from reference_services import __version__
from reference_services.common import db
from reference_services.common.activity import ActiveUsers
from reference_services.common.auth import Principal, health_authorizer
from reference_services.common.cache import (
    ReadCache,
    async_redis_client,
    read_through_json,
    redis_client,
)
from reference_services.common.config import ServiceConfig
from reference_services.common.downstream import Downstream
from reference_services.common.errors import (
    ERROR_RESPONSES,
    BodySizeLimit,
    install_error_handlers,
)

API_PREFIX = "/api/v1"
JSON = "application/json"
# Readiness answers within the 1 s budget even when a check hangs.
HEALTH_TIMEOUT_S = 0.5
HEALTH_CACHE_TTL_S = 0.2
QUIET_LOGGERS = {"httpx": "WARNING", "httpcore": "WARNING", "alembic": "WARNING"}


@dataclass(eq=False)
class ServiceState:
    """Per-app resources, at ``app.state.service`` (no module-level globals)."""

    config: ServiceConfig
    engine: Engine
    sessions: sessionmaker[Session]
    reads: sessionmaker[Session]  # autocommit sessions: read-only endpoints
    obs: Instrumentation
    active_users: ActiveUsers
    cache: ReadCache | None = None
    downstream: dict[str, Downstream] = field(default_factory=dict)
    warmed: int | None = None  # entries loaded into the cache at start


Warmup = Callable[[ServiceState], int]


def service_settings(service: str, settings: Settings | None) -> Settings:
    # httpx logs full URLs at INFO, and a search URL may carry an e-mail address: quiet it
    # even when the caller brings its own settings (its explicit levels still win).
    if settings is not None:
        return settings.replace(logger_levels={**QUIET_LOGGERS, **settings.logger_levels})
    return Settings.from_env(
        service_name=f"{service}-service", service_version=__version__,
        health_timeout_s=HEALTH_TIMEOUT_S, health_cache_ttl_s=HEALTH_CACHE_TTL_S,
        logger_levels=QUIET_LOGGERS)


def build_app(
    service: str,
    router: APIRouter,
    *,
    settings: Settings | None = None,
    config: ServiceConfig | None = None,
    peers: tuple[str, ...] = (),
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    exporter: Any = None,
    log_stream: TextIO | None = None,
    warmup: Warmup | None = None,
    description: str = "",
) -> FastAPI:
    """One reference service. ``peers`` names the services it calls ("contacts", "accounts");
    ``transports`` lets tests route those calls to in-process apps."""
    config = config or ServiceConfig.from_env(service)
    settings = service_settings(service, settings)
    state_box: list[ServiceState] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await close(state_box[0])

    app = FastAPI(title=f"{service}-service", version=__version__, description=description,
                  lifespan=lifespan, responses={})
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)

    engine = db.create_db_engine(config.url, pool_size=config.db_pool_size)
    db.upgrade(engine)
    obs = instrument(app, settings, exporter=exporter, log_stream=log_stream,
                     health_authorizer=health_authorizer(config.jwt_secret))
    state = ServiceState(config=config, engine=engine, sessions=db.session_factory(engine),
                         reads=db.read_session_factory(engine), obs=obs,
                         active_users=ActiveUsers())
    state_box.append(state)
    app.state.service = state
    app.state.config = config
    app.state.on_authenticated = _authenticated_hook(state)

    register_sqlalchemy_pool(obs.metrics, engine)
    obs.metrics.gauge(names.USERS_ACTIVE, "Distinct users seen in the last 5 minutes",
                      callback=state.active_users.count)
    _add_cache(state, warmup)
    _add_health(state, peers, transports or {})
    for peer in peers:
        state.downstream[peer] = Downstream(f"{peer}-service", _peer_url(config, peer),
                                            transport=(transports or {}).get(peer),
                                            timeout_s=config.downstream_timeout_s)
    app.include_router(router, responses=ERROR_RESPONSES)
    return app


def _authenticated_hook(state: ServiceState) -> Callable[[Principal], None]:
    def hook(principal: Principal) -> None:
        # The middleware resets the context after each request; nothing to unbind here.
        bind(**{names.CTX_TENANT_ID: principal.tenant_id, names.CTX_USER_ID: principal.user_id})
        set_span_attributes({names.ATTR_TENANT_ID: principal.tenant_id,
                             names.ATTR_USER_ID: principal.user_id})
        state.active_users.seen(principal.tenant_id, principal.user_id)

    return hook


def _add_cache(state: ServiceState, warmup: Warmup | None) -> None:
    url = state.config.redis_url
    if not url:
        return
    counter = state.obs.metrics.counter(
        names.CACHE_REQUESTS_TOTAL, "Read-cache lookups by result",
        labelnames=(names.LABEL_CACHE_RESULT,))
    client = redis_client(url)
    state.cache = ReadCache(client, state.config.service, counter, ttl_s=state.config.cache_ttl_s,
                            aclient=async_redis_client(url))
    state.obs.health.add("redis", RedisHealthIndicator(client), groups=("readiness",))
    if warmup is not None:
        started = time.perf_counter()
        try:
            state.warmed = warmup(state)
        except Exception as exc:
            report_failure("reference_services.cache_warmup", exc)
        elapsed = round(time.perf_counter() - started, 3)

        def warmed() -> Health:
            if state.warmed is None:
                return Health.down(error="cache warm-up failed")
            return Health.up(entries=state.warmed, seconds=elapsed)

        state.obs.health.add("cache-warmup", CallableHealthIndicator(warmed),
                             groups=("startup",), critical=False)


def _peer_url(config: ServiceConfig, peer: str) -> str:
    return config.contacts_url if peer == "contacts" else config.accounts_url


def _add_health(state: ServiceState, peers: tuple[str, ...],
                transports: dict[str, httpx.AsyncBaseTransport]) -> None:
    health = state.obs.health
    health.add("database", SqlAlchemyHealthIndicator(state.engine), groups=("readiness",))

    def migrations() -> Health:
        current = db.stored_revision(state.engine)
        head = db.head_revision()
        if current == head:
            return Health.up(revision=current)
        return Health.down(error=f"schema at {current}, expected {head}")

    health.add("migrations", CallableHealthIndicator(migrations), groups=("startup",))
    for peer in peers:
        transport = transports.get(peer)
        # Untraced client: a probe is not part of any user's trace.
        client = httpx.AsyncClient(transport=transport) if transport is not None else None
        indicator = HttpHealthIndicator(_peer_url(state.config, peer) + names.LIVENESS_PATH,
                                        client=client)
        # A peer being down degrades this service; it does not take it out of rotation.
        health.add(f"{peer}-service", indicator, groups=("readiness",), critical=False)


async def close(state: ServiceState) -> None:
    for peer in state.downstream.values():
        await peer.aclose()
    if state.cache is not None:
        state.cache.client.close()
        if state.cache.aclient is not None:
            await state.cache.aclient.aclose()
    state.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: one session per request.

    ``async`` so that FastAPI does not hop to the thread pool to open it and again to
    close it (a sync generator costs two hops); a session that touched the database
    is closed in a worker thread, since returning its connection is a round trip.
    """
    session = request.app.state.service.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """An already-validated response model as JSON, as FastAPI would have written it.

    Returning a ``Response`` skips FastAPI's second validation of the return value
    against ``response_model`` (the route still declares it for the OpenAPI document).
    """
    return Response(model.__pydantic_serializer__.to_json(model), status_code=status_code,
                    media_type=JSON)


async def entity_response(
    state: ServiceState, tenant_id: str, kind: str, entity_id: int,
    repository: Callable[[Session, str], Any], schema: type[BaseModel],
) -> Response | None:
    """One entity of the tenant as a JSON response, read through the cache; None if absent.

    ``repository(session, tenant_id).get(entity_id)`` loads it (in the thread pool, in
    an autocommit session) on a miss, and ``schema`` is what the endpoint answers.
    """

    def load() -> BaseModel | None:
        with state.reads() as session:
            row = repository(session, tenant_id).get(entity_id)
            return None if row is None else schema.model_validate(row)

    raw = await read_through_json(state.cache, tenant_id, kind, entity_id, load)
    return None if raw is None else Response(raw, media_type=JSON)


async def service_state(request: Request) -> ServiceState:
    # async: a sync dependency, however trivial, costs a thread-pool hop per request.
    state: ServiceState = request.app.state.service
    return state
