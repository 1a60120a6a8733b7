"""Run a blocking check off the event loop, one thread at a time per indicator.

Why not ``asyncio.to_thread``: a hung driver call cannot be cancelled, so every
probe would park one more worker of the loop's shared executor (and the
interpreter would wait for them at exit).  Here each indicator runs at most one
daemon thread; while it is still stuck, later checks fail fast instead of piling up.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class StillRunningError(RuntimeError):
    """The previous run of this check has not returned yet."""


class BlockingRunner:
    """Runs ``fn`` in a daemon thread; refuses while an earlier run is in flight."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._started: float | None = None  # monotonic start of the run in flight

    async def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._started is not None:
                stuck = time.monotonic() - self._started
                raise StillRunningError(f"previous check still running after {stuck:.1f}s")
            self._started = time.monotonic()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        ctx = contextvars.copy_context()

        def deliver(value: T | None, exc: BaseException | None) -> None:
            if future.done():  # the waiter gave up (timeout) meanwhile
                return
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(value)  # type: ignore[arg-type]

        def work() -> None:
            value: T | None = None
            error: BaseException | None = None
            try:
                value = ctx.run(fn)
            except BaseException as exc:  # delivered to the awaiting coroutine
                error = exc
            finally:
                with self._lock:
                    self._started = None
            # RuntimeError: the loop closed while we were stuck; nobody is waiting.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, value, error)

        threading.Thread(target=work, name=f"crm-health-{self._name}", daemon=True).start()
        return await future
