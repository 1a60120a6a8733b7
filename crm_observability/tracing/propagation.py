"""W3C ``traceparent`` / ``baggage`` in and out, with the tenant id riding in baggage.

Uses the global OpenTelemetry propagator (``OTEL_PROPAGATORS``, by default
tracecontext + baggage), so malformed headers are ignored the way the spec says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping

from opentelemetry import baggage, propagate
from opentelemetry.context import Context, get_current

from crm_observability import conventions as names
from crm_observability.context import tenant_id_var
from crm_observability.errors import report_failure

__all__ = ["extract_context", "inject_context", "valid_tenant_id"]

# Headers the propagators read; everything else in the request is skipped.
_WANTED = frozenset({b"traceparent", b"tracestate", b"baggage"})
# A tenant id ends up in logs, span attributes and outgoing headers: short and plain only.
_TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_EMPTY = Context()
# W3C limits.  Past them, or for a malformed baggage member, the OTel propagators log a
# WARNING quoting the header on every request (log volume a caller controls): such input
# is dropped here first, silently.
_MAX_HEADER = {"traceparent": 128, "tracestate": 512, "baggage": 8192}
_MAX_BAGGAGE_MEMBERS = 180
_BAGGAGE_MEMBER_RE = re.compile(
    r"\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*=\s*[!#-+\--:<-\[\]-~]*\s*(?:;[^,]*)?"
)


def _clean_baggage(text: str) -> str | None:
    members = [m for m in text.split(",") if _BAGGAGE_MEMBER_RE.fullmatch(m)]
    if not members:
        return None
    return ",".join(members[:_MAX_BAGGAGE_MEMBERS])


def valid_tenant_id(value: object) -> str | None:
    """``value`` if it is a plausible tenant id (1-64 of ``A-Za-z0-9._:-``), else None."""
    if isinstance(value, str) and _TENANT_RE.fullmatch(value):
        return value
    return None


def extract_context(headers: Iterable[tuple[bytes, bytes]]) -> tuple[Context, str | None]:
    """Parent context and tenant id from raw ASGI headers; never raises.

    Returns an empty context when there is nothing usable.  An invalid tenant id
    is removed from the baggage too, so it is not forwarded to the next service.
    """
    try:
        carrier: dict[str, str] = {}
        for key, value in headers:
            key = key.lower()
            if key in _WANTED:
                name = key.decode("latin-1")
                text = value.decode("latin-1")
                # Several baggage headers are one list (RFC 9110 field combination).
                carrier[name] = f"{carrier[name]},{text}" if name in carrier else text
        for name, limit in _MAX_HEADER.items():
            if name in carrier and len(carrier[name]) > limit:
                del carrier[name]
        if "baggage" in carrier:
            cleaned = _clean_baggage(carrier.pop("baggage"))
            if cleaned is not None:
                carrier["baggage"] = cleaned
        if not carrier:
            return _EMPTY, None
        ctx = propagate.extract(carrier, context=_EMPTY)
        raw = baggage.get_baggage(names.BAGGAGE_TENANT_ID, ctx)
        if raw is None:
            return ctx, None
        tenant = valid_tenant_id(raw)
        if tenant is None:
            ctx = baggage.remove_baggage(names.BAGGAGE_TENANT_ID, ctx)
        return ctx, tenant
    except Exception as exc:  # a hostile header must not fail the request
        report_failure("tracing", exc)
        return _EMPTY, None


def inject_context(carrier: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write ``traceparent``/``tracestate``/``baggage`` for the current (or given) context.

    The bound tenant id (``bind_context(tenant_id=...)``) is added to the baggage,
    so the next service binds it in turn.  Never raises.
    """
    try:
        ctx = get_current() if context is None else context
        tenant = tenant_id_var.get()
        if tenant is not None and baggage.get_baggage(names.BAGGAGE_TENANT_ID, ctx) != tenant:
            ctx = baggage.set_baggage(names.BAGGAGE_TENANT_ID, tenant, ctx)
        propagate.inject(carrier, context=ctx)
    except Exception as exc:
        report_failure("tracing", exc)
