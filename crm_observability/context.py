"""MDC-style request context on ``contextvars``.

One ContextVar per well-known key (cheap to read on every log line) plus one
for free keys.  ``bind_context`` works as a context manager and as a decorator
for sync and async functions.  Thread pools and ``run_in_executor`` do not
copy context by default; :func:`wrap`, :func:`run_in_executor` and
:class:`ContextThreadPoolExecutor` do.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

from crm_observability import conventions as names

P = ParamSpec("P")
R = TypeVar("R")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    names.CTX_REQUEST_ID, default=None
)
tenant_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    names.CTX_TENANT_ID, default=None
)
user_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    names.CTX_USER_ID, default=None
)
operation_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    names.CTX_OPERATION, default=None
)
_EMPTY: Mapping[str, Any] = MappingProxyType({})
extra_var: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "crm_context_extra", default=_EMPTY
)

KNOWN_VARS: dict[str, contextvars.ContextVar[str | None]] = {
    names.CTX_REQUEST_ID: request_id_var,
    names.CTX_TENANT_ID: tenant_id_var,
    names.CTX_USER_ID: user_id_var,
    names.CTX_OPERATION: operation_var,
}


def get_context(snapshot: contextvars.Context | None = None) -> dict[str, Any]:
    """All bound keys with a value, well-known keys first: in the current context, or as
    they read in ``snapshot`` (a ``copy_context()``, read without entering it)."""
    out: dict[str, Any] = {}
    if snapshot is None:
        for key, var in KNOWN_VARS.items():
            value = var.get()
            if value is not None:
                out[key] = value
        extra = extra_var.get()
    else:  # a variable never set there is absent (its default is None, or empty)
        for key, var in KNOWN_VARS.items():
            value = snapshot.get(var)
            if value is not None:
                out[key] = value
        extra = snapshot.get(extra_var) or _EMPTY
    if extra:
        out.update(extra)
    return out


def bind(**values: Any) -> list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]]:
    """Bind values in the current context; returns tokens for :func:`unbind`."""
    tokens: list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]] = []
    free: dict[str, Any] = {}
    for key, value in values.items():
        var = KNOWN_VARS.get(key)
        if var is not None:
            tokens.append((var, var.set(None if value is None else str(value))))
        else:
            free[key] = value
    if free:
        merged = {**extra_var.get(), **free}
        tokens.append((extra_var, extra_var.set(MappingProxyType(merged))))
    return tokens


def unbind(tokens: list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]]) -> None:
    """Undo a :func:`bind`, newest first."""
    for var, token in reversed(tokens):
        # A token made in another context (e.g. a copied one): leave that context alone.
        with contextlib.suppress(ValueError):
            var.reset(token)


def clear_context() -> None:
    """Unset every key in the current context."""
    for var in KNOWN_VARS.values():
        var.set(None)
    extra_var.set(_EMPTY)


class bind_context:  # noqa: N801 - reads as a function at call sites, like contextlib's helpers
    """Bind keys for a block or a function call: ``with bind_context(tenant_id="t1"):``.

    As a decorator it binds around every call, for sync and async functions.
    """

    __slots__ = ("_tokens", "_values")

    def __init__(self, **values: Any) -> None:
        self._values = values
        self._tokens: list[Any] = []

    def __enter__(self) -> Mapping[str, Any]:
        self._tokens.append(bind(**self._values))
        return get_context()

    def __exit__(self, *exc: object) -> None:
        unbind(self._tokens.pop())

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        values = self._values
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                tokens = bind(**values)
                try:
                    return await func(*args, **kwargs)
                finally:
                    unbind(tokens)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            tokens = bind(**values)
            try:
                return func(*args, **kwargs)
            finally:
                unbind(tokens)

        return wrapper


@contextlib.contextmanager
def request_context(**values: Any) -> Iterator[None]:
    """Start from an empty context (per request) and bind ``values``; restores on exit."""
    ctx_tokens = [(var, var.set(None)) for var in KNOWN_VARS.values()]
    ctx_tokens.append((extra_var, extra_var.set(_EMPTY)))  # type: ignore[arg-type]
    tokens = bind(**values)
    try:
        yield
    finally:
        unbind(tokens)
        unbind(ctx_tokens)


def wrap(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` bound to a copy of the caller's context, for threads and executors.

    Each call runs in its own copy of that snapshot, so the wrapped function may
    be called again, or from several threads at once (``Context.run`` refuses
    to enter one context twice), and one call's bindings do not leak into the next.
    """
    ctx = contextvars.copy_context()

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return ctx.copy().run(func, *args, **kwargs)

    return run


def run_in_executor(
    executor: Any, func: Callable[..., R], *args: Any, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[R]:
    """``loop.run_in_executor`` that carries the caller's context into the worker thread."""
    loop = loop or asyncio.get_running_loop()
    return loop.run_in_executor(executor, wrap(func), *args)


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor whose tasks run in a copy of the submitter's context."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        return super().submit(wrap(fn), *args, **kwargs)
