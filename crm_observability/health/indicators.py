"""Built-in indicators: SQL database, Redis, an HTTP dependency, disk space, any callable.

Each one reports failures as ``Health.down(error=...)`` rather than raising; the
registry still guards against indicators that raise or hang.  Blocking client
calls run through :class:`BlockingRunner` so they never block the event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crm_observability.health.blocking import BlockingRunner
from crm_observability.health.model import Health, to_health

if TYPE_CHECKING:
    import httpx

DEFAULT_TIMEOUT_S = 0.8
DEFAULT_DISK_THRESHOLD_BYTES = 10 * 1024 * 1024  # Spring Boot's default


def _pool_figures(pool: Any) -> dict[str, int]:
    """size / checked_out / overflow / checked_in where the pool class has them."""
    figures: dict[str, int] = {}
    for key, attr in (("size", "size"), ("checked_out", "checkedout"),
                      ("overflow", "overflow"), ("checked_in", "checkedin")):
        method = getattr(pool, attr, None)
        if callable(method):
            figures[key] = int(method())
    # QueuePool counts overflow from -size upwards; report only connections beyond size.
    if "overflow" in figures:
        figures["overflow"] = max(0, figures["overflow"])
    return figures


class SqlAlchemyHealthIndicator:
    """Runs a validation query on a SQLAlchemy ``Engine`` (in a thread) or ``AsyncEngine``."""

    def __init__(self, engine: Any, *, query: str = "SELECT 1") -> None:
        from sqlalchemy import text

        self._engine = engine
        self._query = text(query)
        self._query_text = query
        self._runner = BlockingRunner("sql")
        # AsyncEngine.connect() is an async context manager; Engine.connect() is not.
        self._is_async = hasattr(engine, "sync_engine")

    def _details(self) -> dict[str, Any]:
        return {"database": self._engine.dialect.name, "validation_query": self._query_text,
                "pool": _pool_figures(self._engine.pool)}

    def _check_sync(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(self._query).all()

    async def check(self) -> Health:
        try:
            if self._is_async:
                async with self._engine.connect() as conn:
                    await conn.execute(self._query)
            else:
                await self._runner.run(self._check_sync)
        except Exception as exc:
            return Health.down(error=exc, **self._details())
        return Health.up(**self._details())


class RedisHealthIndicator:
    """PING on a redis client (sync or ``redis.asyncio``) or on a URL; redis is optional."""

    def __init__(self, client: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if isinstance(client, str):
            try:
                import redis
            except ImportError as exc:
                raise ImportError(
                    "RedisHealthIndicator needs the 'redis' package: "
                    "pip install 'crm-observability[redis]'"
                ) from exc
            client = redis.Redis.from_url(client, socket_timeout=timeout_s,
                                          socket_connect_timeout=timeout_s)
        self._client = client
        self._is_async = inspect.iscoroutinefunction(getattr(client, "execute_command", None))
        self._runner = BlockingRunner("redis")

    def _ping_sync(self) -> dict[str, Any]:
        self._client.ping()
        return self._version(self._client.info("server"))

    @staticmethod
    def _version(info: Any) -> dict[str, Any]:
        version = info.get("redis_version") if isinstance(info, Mapping) else None
        return {"version": str(version)} if version is not None else {}

    async def check(self) -> Health:
        try:
            if self._is_async:
                await self._client.ping()
                details = self._version(await self._client.info("server"))
            else:
                details = await self._runner.run(self._ping_sync)
        except Exception as exc:
            return Health.down(error=exc)
        return Health.up(**details)


def _public_url(url: str) -> str:
    """Scheme, host, port and path only: credentials and query strings stay private."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class HttpHealthIndicator:
    """UP when ``url`` answers 2xx within ``timeout_s``.

    ``client`` may be an ``httpx.AsyncClient`` (awaited), or a ``requests.Session`` /
    ``httpx.Client`` (run in a thread).  Without one, an ``httpx.AsyncClient`` is made
    per event loop; close it with :meth:`aclose`.
    """

    def __init__(self, url: str, *, client: Any = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 method: str = "GET", headers: Mapping[str, str] | None = None) -> None:
        import httpx  # here, not at module level: keeps `import crm_observability.health` light

        self._async_type = httpx.AsyncClient
        self._url = url
        self._public = _public_url(url)
        self._client = client
        self._timeout = timeout_s
        self._method = method
        self._headers = dict(headers or {})
        self._own: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None
        self._runner = BlockingRunner("http")

    def _async_client(self) -> httpx.AsyncClient:
        if isinstance(self._client, self._async_type):
            return self._client
        loop = asyncio.get_running_loop()
        if self._own is None or self._own[0] is not loop:  # clients are bound to one loop
            self._own = (loop, self._async_type(timeout=self._timeout))
        return self._own[1]

    def _request_sync(self) -> int:
        response = self._client.request(self._method, self._url, headers=self._headers,
                                        timeout=self._timeout)
        return int(response.status_code)

    async def check(self) -> Health:
        try:
            if self._client is None or isinstance(self._client, self._async_type):
                response = await self._async_client().request(
                    self._method, self._url, headers=self._headers, timeout=self._timeout)
                code = response.status_code
            else:
                code = await self._runner.run(self._request_sync)
        except Exception as exc:
            return Health.down(error=exc, url=self._public)
        if 200 <= code < 300:
            return Health.up(url=self._public, status_code=code)
        return Health.down(error=f"HTTP {code}", url=self._public, status_code=code)

    async def aclose(self) -> None:
        """Close the client this indicator made (not one passed in)."""
        if self._own is not None:
            await self._own[1].aclose()
            self._own = None


class DiskSpaceHealthIndicator:
    """UP while the file system holding ``path`` has at least ``threshold_bytes`` free."""

    def __init__(self, path: str = ".", *,
                 threshold_bytes: int = DEFAULT_DISK_THRESHOLD_BYTES) -> None:
        self._path = path
        self._threshold = threshold_bytes
        self._runner = BlockingRunner("disk")  # a stale network mount can hang statvfs

    async def check(self) -> Health:
        try:
            usage = await self._runner.run(lambda: shutil.disk_usage(self._path))
        except Exception as exc:
            return Health.down(error=exc, path=self._path)
        details = {"path": self._path, "total": usage.total, "free": usage.free,
                   "threshold": self._threshold}
        if usage.free >= self._threshold:
            return Health.up(**details)
        return Health.down(error=f"free space {usage.free} below threshold {self._threshold}",
                           **details)


class CallableHealthIndicator:
    """Wraps a sync or async callable returning bool, Status, Health, a mapping or None.

    Sync callables run in a thread, so a slow one cannot block the event loop.
    """

    def __init__(self, fn: Callable[[], Any], *, name: str = "callable") -> None:
        self._fn = fn
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None))  # noqa: B004 - async __call__ on instances
        self._runner = BlockingRunner(name)

    async def check(self) -> Health:
        result = self._fn() if self._is_async else await self._runner.run(self._fn)
        if inspect.isawaitable(result):
            result = await result
        return to_health(result)
