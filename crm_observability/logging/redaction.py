"""Redaction of secrets and masking of e-mail addresses in log events.

Two rules, applied to every event before it is rendered:

* a field whose *key* names a secret (``password``, ``api_key``, ``x-auth-token``,
  ``set-cookie`` ...) has its value replaced by ``[REDACTED]``, in nested
  dicts and lists too;
* every other string value (the message included) is scanned for
  ``key=value`` / ``"key": "value"`` pairs with such a key, JWTs and
  ``Bearer`` credentials (replaced) and e-mail addresses (masked as
  ``j***@example.com``).

Most log strings contain none of this, so each regex runs only after a cheap
substring test says it could match.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import re
import uuid
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

# Key endings that name a secret (compared lower-case, "-" and "_" alike).
# Endings, not substrings: "tokens_used" or "cache_key" are not secrets.
_SECRET_KEY_ROOTS = (
    "password", "passwd", "pwd", "passphrase", "secret", "token", "authorization",
    r"api[_-]?key", r"access[_-]?key", r"private[_-]?key", r"secret[_-]?key",
    "cookie", r"session[_-]?id", "credentials?",
)
_ROOTS = "|".join(_SECRET_KEY_ROOTS)
_KEY_END_RE = re.compile(rf"(?:{_ROOTS})$", re.IGNORECASE)

# `key=value`, `key: value`, `"key": "value"` inside free text: every pair is
# found (possessive, so no backtracking), and the key decides.  Only key and
# separator are consumed: after a harmless `https:` the scan goes on inside
# the value.  The value is a quoted string, or an unquoted run, optionally led
# by an auth scheme word (`Authorization: Bearer x`).
_PAIR_RE = re.compile(
    r"""(?<![\w.-])(?P<key>[\w.-]++)["']?+\s*+[:=]\s*+(?!\[REDACTED\])"""
    r"""(?=(?P<val>"(?:[^"\\]|\\.)*+"|'(?:[^'\\]|\\.)*+'"""
    r"""|(?:(?:bearer|basic|digest|token|negotiate)\s++)?[^\s"',;&}\]]++))""",
    re.IGNORECASE,
)
# A Cookie / Set-Cookie header value runs to the end of the line (many pairs).
_LINE_REST_RE = re.compile(r'[^\r\n"]*+')
_BEARER_RE = re.compile(r"\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
# A JWT: base64url header `{"...` (eyJ), payload, optional signature.
_JWT_RE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Also URL-encoded (``%40``): search URLs in client logs carry e-mails that way.
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*?(@|%40)"
    r"([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)

# Values that cannot hold a secret and that orjson renders natively.
_PLAIN_TYPES = (
    int, float, bool, type(None), datetime.datetime, datetime.date, datetime.time,
    uuid.UUID, decimal.Decimal, enum.Enum,
)
_MAX_DEPTH = 8  # deeper structures are rendered as a redacted string
_MEMO_LIMIT = 4096  # keys are classified once; untrusted key sets stay bounded
_CLEAN_MAX_LEN = 256  # longer strings are rarely repeated verbatim
_key_memo: dict[str, bool] = {}


def _secret_key(key: str) -> bool:
    secret = _key_memo.get(key)
    if secret is None:
        secret = _KEY_END_RE.search(key) is not None
        if len(_key_memo) < _MEMO_LIMIT:
            _key_memo[key] = secret
    return secret


def _redact_pairs(text: str) -> str:
    parts: list[str] = []
    done = 0  # text before this index is already in parts
    for match in _PAIR_RE.finditer(text):
        start = match.end()
        if start < done or not _secret_key(match.group("key")):
            continue  # a harmless key, or a pair inside a value just redacted
        value = match.group("val")
        quote = value[0] if value[0] in "\"'" else ""
        if not quote and match.group("key").lower().endswith("cookie"):
            rest = _LINE_REST_RE.match(text, start)  # always matches, maybe empty
            value = rest.group() if rest else value
        parts += (text[done:start], quote, REDACTED, quote)
        done = start + len(value)
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _sub_email(match: re.Match[str]) -> str:
    return f"{match.group(1)}***{match.group(2)}{match.group(3)}"


def redact_text(text: str) -> str:
    """``text`` with secret pairs, JWTs and bearer values replaced and e-mails masked."""
    if len(text) < 5:  # shorter than the shortest match ("pwd=x", "a@b.c")
        return text
    lower = text.lower()
    if ("=" in text or ":" in text) and (
        "pass" in lower or "pwd" in lower or "secret" in lower or "token" in lower
        or "auth" in lower or "key" in lower or "cookie" in lower or "session" in lower
        or "credential" in lower
    ):
        text = _redact_pairs(text)
    if "bearer" in lower:
        text = _BEARER_RE.sub(rf"\1 {REDACTED}", text)
    if "eyJ" in text:
        text = _JWT_RE.sub(REDACTED, text)
    if "@" in text or "%40" in text:
        text = _EMAIL_RE.sub(_sub_email, text)
    return text


class Redactor:
    """A structlog processor applying the rules above to every field of an event.

    ``skip`` names fields the library fills itself (timestamp, trace ids...):
    they are neither classified nor scanned.  ``extra_keys`` adds key endings
    (regex fragments) to the built-in list.
    """

    __slots__ = ("_clean", "_key_re", "_memo")

    # memo values: 0 = scan the value, 1 = redact it, 2 = leave it alone
    def __init__(self, skip: Iterable[str] = (), extra_keys: Iterable[str] = ()) -> None:
        extra = tuple(extra_keys)
        self._key_re = (
            re.compile(rf"(?:{_ROOTS}|{'|'.join(extra)})$", re.IGNORECASE) if extra
            else _KEY_END_RE
        )
        self._memo: dict[str, int] = dict.fromkeys(skip, 2)
        # Short strings already scanned and found clean (messages, routes, methods repeat
        # on every line). Only clean ones: a secret is never kept here.  Bounded.
        self._clean: set[str] = set()

    def is_secret_key(self, key: str) -> bool:
        """True when values under ``key`` are always replaced."""
        return self._classify(key) == 1

    def _classify(self, key: Any) -> int:
        kind = self._memo.get(key) if isinstance(key, str) else None
        if kind is None:
            kind = 1 if self._key_re.search(str(key)) else 0
            if isinstance(key, str) and len(self._memo) < _MEMO_LIMIT:
                self._memo[key] = kind
        return kind

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        memo = self._memo
        for key, value in event.items():
            kind = memo.get(key)
            if kind is None:
                kind = self._classify(key)
            if kind == 2:
                continue
            if kind == 1:
                event[key] = REDACTED
            elif type(value) is str:
                if value not in self._clean:
                    redacted = redact_text(value)
                    if redacted is value and len(value) <= _CLEAN_MAX_LEN:
                        if len(self._clean) >= _MEMO_LIMIT:
                            self._clean.clear()
                        self._clean.add(value)
                    event[key] = redacted
            elif not isinstance(value, _PLAIN_TYPES):
                event[key] = self.value(value)
        return event

    def value(self, value: Any, depth: int = 0) -> Any:
        """A redacted copy of ``value`` (the original is never modified)."""
        if isinstance(value, str):
            return redact_text(value)
        if isinstance(value, _PLAIN_TYPES):
            return value
        if depth >= _MAX_DEPTH:
            return redact_text(str(value))
        if isinstance(value, dict):
            return {
                k: REDACTED if self._classify(k) == 1 else self.value(v, depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v, depth + 1) for v in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # orjson would serialise the fields directly, past the key rule.
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return self.value(fields, depth)
        return redact_text(str(value))
