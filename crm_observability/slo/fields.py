"""Typed field access over parsed YAML that fails with the file and field path."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_observability.slo.durations import parse_duration
from crm_observability.slo.errors import SpecError

_MISSING = object()


class Fields:
    """Reads one file's mappings; every failure is a :class:`SpecError` for that file."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, reason: str) -> SpecError:
        return SpecError(self.file, path, reason)

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping, got {_kind(value)}")
        return value

    def get(self, parent: Mapping[str, Any], key: str, path: str, default: Any = _MISSING) -> Any:
        value = parent.get(key, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise self.fail(_join(path, key), "is required")
            return default
        return value

    def text(self, parent: Mapping[str, Any], key: str, path: str, default: Any = _MISSING) -> Any:
        value = self.get(parent, key, path, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(path, key), f"must be a non-empty string, got {_kind(value)}")
        return value.strip()

    def section(self, parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        """An optional mapping (empty when absent)."""
        return self.mapping(self.get(parent, key, path, {}), _join(path, key))

    def labels(self, parent: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
        """A ``{name: value}`` mapping of strings (numbers and booleans become text)."""
        raw = self.section(parent, key, path)
        out = {}
        for name, value in raw.items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise self.fail(f"{_join(path, key)}.{name}",
                                f"must be a string, got {_kind(value)}")
            out[str(name)] = str(value)
        return out

    def decimal(self, parent: Mapping[str, Any], key: str, path: str) -> Decimal:
        return self.number(self.get(parent, key, path), _join(path, key))

    def number(self, value: Any, path: str) -> Decimal:
        """Exact decimal of a YAML number (``99.9`` stays ``99.9``, ``"99.9%"`` is accepted)."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(path, f"must be a number, got {_kind(value)}")
        try:
            # str() first: 99.9 as a float would become 99.900000000000005684...
            number = Decimal(str(value).strip().rstrip("%"))
        except InvalidOperation:
            raise self.fail(path, f"must be a number, got {value!r}") from None
        if not number.is_finite():
            raise self.fail(path, f"must be a finite number, got {value!r}")
        return number

    def duration(self, parent: Mapping[str, Any], key: str, path: str, default: Any) -> Any:
        value = self.get(parent, key, path, default)
        if value is default:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.fail(_join(path, key), str(exc)) from None

    def flag(self, parent: Mapping[str, Any], key: str, path: str) -> bool:
        value = self.get(parent, key, path, False)
        if not isinstance(value, bool):
            raise self.fail(_join(path, key), f"must be true or false, got {_kind(value)}")
        return value

    def unknown(self, parent: Mapping[str, Any], allowed: set[str], path: str) -> None:
        """Reject keys the format does not define (a typo must not be silently ignored)."""
        extra = sorted(str(k) for k in parent if k not in allowed)
        if extra:
            raise self.fail(_join(path, extra[0]), f"unknown field (expected one of "
                            f"{', '.join(sorted(allowed))})")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
