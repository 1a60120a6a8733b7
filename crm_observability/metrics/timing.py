"""``@timed``: observe the duration of a call (sync or async) or a block, in seconds.

The duration is recorded whether the code returns or raises; the exception
propagates unchanged.  Recording never raises (bound children contain errors).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from time import perf_counter
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from crm_observability.metrics.guard import BoundHistogram

P = ParamSpec("P")
R = TypeVar("R")


class Timed:
    """A decorator and context manager around one bound histogram child.

    ``resolve`` (optional) is called per use instead of using ``child``: the
    module-level API uses it to follow the current default registry.
    """

    __slots__ = ("_child", "_resolve", "_starts")

    def __init__(
        self,
        child: BoundHistogram | None = None,
        resolve: Callable[[], BoundHistogram] | None = None,
    ) -> None:
        if child is None and resolve is None:
            raise ValueError("Timed needs a child or a resolver")
        self._child = child
        self._resolve = resolve
        self._starts: list[float] = []

    def _target(self) -> BoundHistogram:
        resolve = self._resolve
        return resolve() if resolve is not None else self._child  # type: ignore[return-value]

    def _observer(self) -> Callable[[float], None]:
        if self._resolve is None:
            return self._child.observe  # type: ignore[union-attr]  # fixed child: no lookup per call
        resolve = self._resolve
        return lambda seconds: resolve().observe(seconds)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        observe = self._observer()
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_timed(*args: P.args, **kwargs: P.kwargs) -> Any:
                start = perf_counter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    observe(perf_counter() - start)

            return async_timed  # type: ignore[return-value]

        @functools.wraps(func)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            start = perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                observe(perf_counter() - start)

        return timed

    def __enter__(self) -> Timed:
        self._starts.append(perf_counter())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._target().observe(perf_counter() - self._starts.pop())
