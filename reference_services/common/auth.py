"""JWT bearer authentication (PyJWT, HS256) and role checks.

Claims: ``sub`` (user), ``tenant``, ``roles`` (list), ``exp``.  The request
dependency binds ``tenant_id``/``user_id`` into the log context and onto the
server span, and records the user as active.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import jwt
from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reference_services.common.errors import ApiError

ALGORITHM = "HS256"
ROLE_READ = "crm.read"
ROLE_WRITE = "crm.write"
DEFAULT_ROLES = (ROLE_READ, ROLE_WRITE)
# Tenant and user ids land in logs, spans and baggage: short and plain only.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")

bearer_scheme = HTTPBearer(auto_error=False, description="JWT from `crm-services token`")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    tenant_id: str
    roles: frozenset[str]
    token: str


def issue_token(secret: str, *, tenant: str, user: str, roles: Iterable[str] = DEFAULT_ROLES,
                ttl_s: int = 24 * 3600, now: float | None = None) -> str:
    """A signed development token."""
    issued = int(time.time() if now is None else now)
    claims = {"sub": user, "tenant": tenant, "roles": sorted(set(roles)),
              "iat": issued, "exp": issued + ttl_s}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    """The principal in ``token``; raises ``ApiError`` 401 when it is not valid."""
    return _decode(secret, token)[0]


def _decode(secret: str, token: str) -> tuple[Principal, float]:
    """The principal and the token's expiry time (``exp``, Unix seconds)."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["sub", "tenant", "exp"]})
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token has expired") from None
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"invalid token: {exc}") from None
    user, tenant, roles = claims.get("sub"), claims.get("tenant"), claims.get("roles", [])
    for name, value in (("sub", user), ("tenant", tenant)):
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            raise _unauthorized(f"invalid token: claim {name!r} must match {ID_PATTERN.pattern}")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _unauthorized("invalid token: claim 'roles' must be a list of strings")
    assert isinstance(user, str) and isinstance(tenant, str)  # narrowed above
    # PyJWT has checked that ``exp`` is a number in the future.
    return (Principal(user_id=user, tenant_id=tenant, roles=frozenset(roles), token=token),
            float(claims["exp"]))


class VerifiedTokens:
    """Tokens already verified, until they expire: ``(secret, token) -> (principal, exp)``.

    A service sees the same few bearer tokens over and over; PyJWT re-parses,
    re-verifies the HMAC and re-checks the claims each time (a large share of a cached
    read's CPU).  Only tokens that passed :func:`decode_token` with that very secret
    are stored, and an entry is used only before its ``exp``, which is exactly when
    ``decode_token`` would accept it again.  Bounded: the oldest entry goes first.
    """

    def __init__(self, max_entries: int = 4096, clock: Callable[[], float] = time.time) -> None:
        self.max_entries, self._clock = max_entries, clock
        self._entries: dict[tuple[str, str], tuple[Principal, float]] = {}

    def decode(self, secret: str, token: str) -> Principal:
        key = (secret, token)
        found = self._entries.get(key)
        if found is not None:
            principal, expires = found
            if self._clock() < expires:
                return principal
            self._entries.pop(key, None)
        principal, expires = _decode(secret, token)
        if len(self._entries) >= self.max_entries:
            try:  # insertion order: drop the oldest
                del self._entries[next(iter(self._entries))]
            except (RuntimeError, StopIteration, KeyError):
                self._entries.clear()  # raced with another thread: start over
        self._entries[key] = (principal, expires)
        return principal


verified_tokens = VerifiedTokens()


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


OnAuthenticated = Callable[[Principal], None]


def require_role(role: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller's principal, 401 without a token, 403 without ``role``.

    It is ``async`` on purpose: context bound in a sync dependency would be set
    in a worker thread and vanish before the endpoint runs.
    """

    async def dependency(request: Request) -> Principal:
        credentials: HTTPAuthorizationCredentials | None = await bearer_scheme(request)
        if credentials is None:
            raise _unauthorized("missing bearer token")
        principal = verified_tokens.decode(request.app.state.config.jwt_secret,
                                           credentials.credentials)
        hook: OnAuthenticated | None = getattr(request.app.state, "on_authenticated", None)
        if hook is not None:
            hook(principal)
        if role not in principal.roles:
            raise ApiError(403, "forbidden", f"role {role!r} is required")
        request.state.principal = principal
        return principal

    return dependency


def health_authorizer(secret: str) -> Callable[[Mapping[str, str]], bool]:
    """True when the request headers carry a valid token (health details are for callers)."""

    def authorize(headers: Mapping[str, str]) -> bool:
        header = headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        try:
            verified_tokens.decode(secret, token.strip())
        except ApiError:
            return False
        return True

    return authorize
