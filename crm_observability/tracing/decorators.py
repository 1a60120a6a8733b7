"""``@traced`` and ``set_span_attributes``: spans from application code that never raise."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from crm_observability import __version__
from crm_observability import conventions as names
from crm_observability.errors import report_failure
from crm_observability.tracing.current import serving_app

__all__ = ["clean_attributes", "set_span_attributes", "traced"]

P = ParamSpec("P")
R = TypeVar("R")

_PRIMITIVES = (str, bool, int, float)
_MAX_VALUE_LEN = 1024  # a stringified object is cut here (spans are not log files)


def _clean_value(value: Any) -> Any:
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, (list, tuple)):
        items = [v for v in value if v is not None]
        # OTel arrays hold one primitive type; anything else becomes an array of strings.
        if len({type(v) for v in items}) == 1 and isinstance(items[0], _PRIMITIVES):
            return tuple(items)
        return tuple(str(v)[:_MAX_VALUE_LEN] for v in items)
    return str(value)[:_MAX_VALUE_LEN]


def clean_attributes(attrs: Mapping[Any, Any]) -> dict[str, Any]:
    """Attributes OTel accepts: None dropped, objects stringified, bad entries skipped."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None or not isinstance(key, str) or not key:
            continue
        try:
            out[key] = _clean_value(value)
        except Exception:  # a __str__ that raises: drop that one value
            continue
    return out


def set_span_attributes(attrs: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
    """Set attributes on the current span; never raises.

    Dotted names do not fit keyword arguments, so a mapping may come first:
    ``set_span_attributes({names.ATTR_RESULTS_COUNT: len(rows)})``.
    """
    try:
        span = trace.get_current_span()
        if not span.is_recording():
            return
        merged = {**attrs, **kwargs} if attrs else kwargs
        span.set_attributes(clean_attributes(merged))
    except Exception as exc:
        report_failure("tracing", exc)


def traced(
    name: str | None = None, *, attributes: Mapping[str, Any] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run each call of the decorated function (sync or async) in its own span.

    An exception is recorded on the span, which gets ERROR status, and re-raised
    unchanged.  Tracing problems are reported (errors.py), never raised.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        qualname = f"{func.__module__}.{func.__qualname__}"
        span_name = name or func.__qualname__
        static = clean_attributes({**(attributes or {}), names.ATTR_CODE_FUNCTION: qualname})
        tracer = trace.get_tracer(names.INSTRUMENTATION_NAME, __version__)

        def start() -> tuple[trace.Span, object] | None:
            try:
                serving = serving_app()
                active = serving.tracer if serving is not None else tracer
                span = active.start_span(span_name, attributes=static)
                return span, otel_context.attach(trace.set_span_in_context(span))
            except Exception as exc:
                report_failure("tracing", exc)
                return None

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                started = start()
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    _end(started, exc)
                    raise
                _end(started, None)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started = start()
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                _end(started, exc)
                raise
            _end(started, None)
            return result

        return wrapper

    return decorate


def _end(started: tuple[trace.Span, object] | None, exc: BaseException | None) -> None:
    if started is None:
        return
    span, token = started
    try:
        otel_context.detach(token)  # type: ignore[arg-type]
        # Cancellation and exits are control flow, not failures.
        if isinstance(exc, Exception):
            span.record_exception(exc)
            span.set_attribute(names.ATTR_ERROR_TYPE, type(exc).__qualname__)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.end()
    except Exception as err:
        report_failure("tracing", err)
