"""Optional Redis read-through cache for single-entity reads.

Keys carry the service and the tenant, so a cache hit can never cross tenants.
Every lookup counts ``crm_cache_requests_total{result="hit"|"miss"|"error"}``.
Redis failures are contained: counted, reported once a minute, and the read
falls back to the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from crm_observability.errors import report_failure

HIT, MISS, ERROR = "hit", "miss", "error"
M = TypeVar("M", bound=BaseModel)


class ReadCache:
    """JSON documents in Redis under ``crm:<service>:<tenant>:<kind>:<id>``.

    ``client`` is a sync redis client (warm-up, sync endpoints); ``aclient``, when
    given, a ``redis.asyncio`` one for the async hot paths (:func:`read_through_json`),
    so a cache hit is served on the event loop without a thread-pool hop.
    """

    def __init__(self, client: Any, service: str, counter: Any, ttl_s: int = 300,
                 aclient: Any = None) -> None:
        self.client, self.service, self.ttl_s, self.aclient = client, service, ttl_s, aclient
        # Pre-bound children: the hot path does no label lookup.
        self._hit = counter.labels(HIT)
        self._miss = counter.labels(MISS)
        self._error = counter.labels(ERROR)

    def key(self, tenant_id: str, kind: str, entity_id: int) -> str:
        return f"crm:{self.service}:{tenant_id}:{kind}:{entity_id}"

    def get(self, tenant_id: str, kind: str, entity_id: int) -> dict[str, Any] | None:
        try:
            raw = self.client.get(self.key(tenant_id, kind, entity_id))
        except Exception as exc:
            self._failed(exc)
            return None
        if not self._counted(raw):
            return None
        value: dict[str, Any] = orjson.loads(raw)
        return value

    def _counted(self, raw: object) -> bool:
        """Count a lookup as a hit or a miss; True for a hit."""
        (self._miss if raw is None else self._hit).inc()
        return raw is not None

    def _failed(self, exc: Exception) -> None:
        self._error.inc()
        report_failure("reference_services.cache", exc)

    def put(self, tenant_id: str, kind: str, entity_id: int, document: dict[str, Any]) -> None:
        try:
            self.client.set(self.key(tenant_id, kind, entity_id), orjson.dumps(document),
                            ex=self.ttl_s)
        except Exception as exc:
            report_failure("reference_services.cache", exc)

    def put_many(self, tenant_kind_docs: list[tuple[str, str, int, dict[str, Any]]]) -> int:
        """Store several documents in one round trip (cache warm-up); returns how many."""
        self.client.ping()  # an unreachable cache is reported even with nothing to load
        pipe = self.client.pipeline(transaction=False)
        for tenant_id, kind, entity_id, document in tenant_kind_docs:
            pipe.set(self.key(tenant_id, kind, entity_id), orjson.dumps(document), ex=self.ttl_s)
        pipe.execute()
        return len(tenant_kind_docs)

    def evict(self, tenant_id: str, kind: str, entity_id: int) -> None:
        try:
            self.client.delete(self.key(tenant_id, kind, entity_id))
        except Exception as exc:
            # A stale entry expires with its TTL; report so operators see it.
            report_failure("reference_services.cache", exc)


    async def aget_raw(self, tenant_id: str, kind: str, entity_id: int) -> bytes | None:
        """The cached JSON document as stored (no parsing), or None."""
        try:
            if self.aclient is None:
                raw = await run_in_threadpool(self.client.get,
                                              self.key(tenant_id, kind, entity_id))
            else:
                raw = await self.aclient.get(self.key(tenant_id, kind, entity_id))
        except Exception as exc:
            self._failed(exc)
            return None
        return bytes(raw) if self._counted(raw) else None

    async def aput_raw(self, tenant_id: str, kind: str, entity_id: int, raw: bytes,
                       ttl_s: int | None = None) -> None:
        try:
            key, ex = self.key(tenant_id, kind, entity_id), ttl_s or self.ttl_s
            if self.aclient is None:
                await run_in_threadpool(self.client.set, key, raw, ex=ex)
            else:
                await self.aclient.set(key, raw, ex=ex)
        except Exception as exc:
            report_failure("reference_services.cache", exc)

    async def aevict(self, tenant_id: str, kind: str, entity_id: int) -> None:
        try:
            if self.aclient is None:
                await run_in_threadpool(self.client.delete, self.key(tenant_id, kind, entity_id))
            else:
                await self.aclient.delete(self.key(tenant_id, kind, entity_id))
        except Exception as exc:
            report_failure("reference_services.cache", exc)


async def read_through_json(
    cache: ReadCache | None, tenant_id: str, kind: str, entity_id: int,
    load: Callable[[], BaseModel | None], ttl_s: int | None = None,
) -> bytes | None:
    """The entity's JSON body: the cached bytes as they are, else ``load()`` in the thread
    pool (it opens its own session and returns the validated model), then cached.

    A hit costs one Redis GET on the event loop: no thread hop, no pydantic.  The bytes
    are what the endpoint's model serialises to, written by this function only.
    """
    if cache is not None:
        cached = await cache.aget_raw(tenant_id, kind, entity_id)
        if cached is not None:
            return cached
    out = await run_in_threadpool(load)
    if out is None:
        return None
    raw = out.__pydantic_serializer__.to_json(out)
    if cache is not None:
        await cache.aput_raw(tenant_id, kind, entity_id, raw, ttl_s)
    return raw


def read_through(
    cache: ReadCache | None, tenant_id: str, kind: str, entity_id: int,
    load: Callable[[], Any], model: type[M],
) -> M | None:
    """The entity as ``model``: from the cache, else ``load()`` (then cached); None if absent."""
    if cache is not None:
        cached = cache.get(tenant_id, kind, entity_id)
        if cached is not None:
            return model.model_validate(cached)
    row = load()
    if row is None:
        return None
    out = model.model_validate(row)
    if cache is not None:
        cache.put(tenant_id, kind, entity_id, out.model_dump(mode="json"))
    return out


def redis_client(url: str) -> Any:
    """A redis client with short timeouts (a slow cache must not slow requests)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def async_redis_client(url: str) -> Any:
    """The ``redis.asyncio`` twin of :func:`redis_client` (connects on first use, in the
    event loop that uses it)."""
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
