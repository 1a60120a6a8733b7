"""Health values: the status order, one check's result, and the indicator protocol."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

# Error texts end up in probe responses and logs: keep them one short line.
MAX_ERROR_LENGTH = 300


class Status(enum.Enum):
    """Spring Actuator statuses; ``severity`` gives the aggregation order."""

    UP = "UP"
    DOWN = "DOWN"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"
    UNKNOWN = "UNKNOWN"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def http_status(self) -> int:
        """503 for DOWN and OUT_OF_SERVICE (load balancers stop routing), else 200."""
        return 503 if self in (Status.DOWN, Status.OUT_OF_SERVICE) else 200


_SEVERITY = {Status.DOWN: 3, Status.OUT_OF_SERVICE: 2, Status.UP: 1, Status.UNKNOWN: 0}


def aggregate(statuses: Iterable[Status]) -> Status:
    """The most severe status (DOWN > OUT_OF_SERVICE > UP > UNKNOWN); UP when empty."""
    worst: Status | None = None
    for status in statuses:
        if worst is None or status.severity > worst.severity:
            worst = status
    return Status.UP if worst is None else worst


def describe_error(exc: BaseException | str) -> str:
    """``TypeName: message`` on one line, truncated; never a traceback."""
    if isinstance(exc, str):
        text = exc
    else:
        # SQLAlchemy wraps driver errors and appends a docs link; the driver's text is enough.
        orig = getattr(exc, "orig", None)
        inner = orig if isinstance(orig, BaseException) else exc
        message = str(inner).strip().splitlines()
        text = f"{type(inner).__name__}: {message[0]}" if message else type(inner).__name__
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 3] + "..."


_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Health:
    """The result of one check: a status and read-only details."""

    status: Status
    details: Mapping[str, Any] = field(default_factory=lambda: _NO_DETAILS)

    def __post_init__(self) -> None:
        if not isinstance(self.details, MappingProxyType):
            object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @classmethod
    def up(cls, **details: Any) -> Health:
        return cls(Status.UP, details)

    @classmethod
    def down(cls, error: BaseException | str | None = None, **details: Any) -> Health:
        if error is not None:
            details["error"] = describe_error(error)
        return cls(Status.DOWN, details)

    @classmethod
    def out_of_service(cls, **details: Any) -> Health:
        return cls(Status.OUT_OF_SERVICE, details)

    @classmethod
    def unknown(cls, **details: Any) -> Health:
        return cls(Status.UNKNOWN, details)


@runtime_checkable
class HealthIndicator(Protocol):
    """Anything with ``async def check(self) -> Health``."""

    async def check(self) -> Health: ...


def to_health(result: Any) -> Health:
    """Turn what a user check returned into a Health.

    ``Health`` as is; ``Status``; ``bool`` (True = UP); ``None`` (ran without raising = UP);
    a mapping (its ``status`` key, if any, is the status, the rest are details).
    """
    if isinstance(result, Health):
        return result
    if isinstance(result, Status):
        return Health(result)
    if result is None:
        return Health.up()
    if isinstance(result, bool):
        return Health(Status.UP if result else Status.DOWN)
    if isinstance(result, Mapping):
        details = {str(k): v for k, v in result.items()}
        raw = details.pop("status", Status.UP)
        try:
            status = raw if isinstance(raw, Status) else Status(str(raw).upper())
        except ValueError:
            return Health.down(error=f"unknown status {raw!r}", **details)
        return Health(status, details)
    return Health.down(error=f"unsupported check result type {type(result).__name__}")
