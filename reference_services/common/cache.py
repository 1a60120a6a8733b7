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

from crm_observability.errors import report_failure

HIT, MISS, ERROR = "hit", "miss", "error"
M = TypeVar("M", bound=BaseModel)


class ReadCache:
    """JSON documents in Redis under ``crm:<service>:<tenant>:<kind>:<id>``."""

    def __init__(self, client: Any, service: str, counter: Any, ttl_s: int = 300) -> None:
        self.client, self.service, self.ttl_s = client, service, ttl_s
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
            self._error.inc()
            report_failure("reference_services.cache", exc)
            return None
        if raw is None:
            self._miss.inc()
            return None
        self._hit.inc()
        value: dict[str, Any] = orjson.loads(raw)
        return value

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
