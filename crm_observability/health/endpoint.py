"""The ASGI side: which paths are health paths, and answering them.

Never raises: a failing indicator, authorizer, renderer or metric update still
produces a JSON answer (503 when the status itself could not be computed).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from crm_observability import conventions as names
from crm_observability.errors import report_failure
from crm_observability.health import formats

if TYPE_CHECKING:
    from crm_observability.health.registry import HealthRegistry

ALL = ""  # route() result for the root path: every indicator
_ALIASES = {names.LIVEZ_PATH: "liveness", names.READYZ_PATH: "readiness"}
_PREFIX = names.HEALTH_PATH + "/"
_METHODS = ("GET", "HEAD")
# Every path route() answers is one of these or starts with one of PREFIXES.
EXACT_PATHS = frozenset({names.HEALTH_PATH, _PREFIX, *_ALIASES})
PREFIXES = (_PREFIX,)
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def route(path: str) -> str | None:
    """Group named by ``path`` (``ALL`` for the root), or None when not a health path."""
    if path == names.HEALTH_PATH or path == _PREFIX:
        return ALL
    if path in _ALIASES:
        return _ALIASES[path]
    if path.startswith(_PREFIX):
        return path[len(_PREFIX):].rstrip("/")
    return None


def request_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased header names; repeated headers joined with ", "."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def _show_details(registry: HealthRegistry, headers: Mapping[str, str]) -> bool:
    mode = registry.settings.health_show_details
    if mode == "always":
        return True
    if mode == "never" or registry.authorizer is None:
        return False
    try:
        verdict = registry.authorizer(headers)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return verdict is True
    except Exception as exc:  # a broken authorizer hides details; it never breaks the probe
        report_failure("health.authorizer", exc)
        return False


def _encode(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body, default=str, option=_JSON_OPTIONS)


async def _send(send: Any, status: int, payload: bytes, media_type: str, *, head: bool = False,
                extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    headers = [
        (b"content-type", media_type.encode("latin-1")),
        (b"content-length", str(len(payload)).encode("latin-1")),
        (b"cache-control", b"no-store"),  # a cached probe answer hides an outage
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else payload})


def _error(status: int, reason: str, message: str, path: str) -> dict[str, Any]:
    return {"status": status, "error": reason, "message": message, "path": path}


async def serve(registry: HealthRegistry, scope: Any, receive: Any, send: Any) -> None:
    """Answer one health request (GET or HEAD)."""
    if scope.get("type") != "http":
        return
    path = scope.get("path", "")
    method = scope.get("method", "GET")
    head = method == "HEAD"
    json_type = formats.ACTUATOR_MEDIA_TYPE
    if method not in _METHODS:
        body = _error(405, "Method Not Allowed", f"{method} is not supported; use GET or HEAD",
                      path)
        await _send(send, 405, _encode(body), json_type, extra=((b"allow", b"GET, HEAD"),))
        return
    group = route(path)
    if group is None or (group != ALL and not registry.has_group(group)):
        known = ", ".join(registry.groups)
        body = _error(404, "Not Found", f"no health group {group!r}; known groups: {known}", path)
        await _send(send, 404, _encode(body), json_type, head=head)
        return
    headers = request_headers(scope)
    try:
        result = await registry.evaluate(group or None)
        show = await _show_details(registry, headers)
        if formats.wants_health_json(headers.get("accept")):
            payload = _encode(formats.health_json(result, registry.settings, show_details=show))
            media = formats.HEALTH_JSON_MEDIA_TYPE
        else:
            payload = _encode(formats.actuator(result, show_details=show,
                                               groups=registry.groups))
            media = json_type
        status = result.status.http_status
    except Exception as exc:  # e.g. details that cannot be serialised
        report_failure("health.endpoint", exc)
        status, payload, media = 503, _encode({"status": "DOWN"}), json_type
    await _send(send, status, payload, media, head=head)
