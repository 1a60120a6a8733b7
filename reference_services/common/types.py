"""Input types shared by the services' request schemas.

Strings refuse NUL and unpaired surrogates: PostgreSQL and the SQLite driver
cannot store them, and a refused value must be a 422, not a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, Field

# Database ids are 32-bit integers on every backend; larger path ids cannot exist.
MAX_ID = 2_147_483_647
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,189}\.[A-Za-z]{2,24}$"


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains characters that are not valid UTF-8") from None
    return value


Name = Annotated[str, Field(min_length=1, max_length=100, pattern=_PRINTABLE),
                 AfterValidator(_encodable)]
LongName = Annotated[str, Field(min_length=1, max_length=200, pattern=_PRINTABLE),
                     AfterValidator(_encodable)]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN), AfterValidator(_encodable)]
Phone = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[0-9+()./ \-]+$")]
Website = Annotated[str, Field(max_length=300, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$"),
                    AfterValidator(_encodable)]
Short = Annotated[str, Field(min_length=1, max_length=50, pattern=_PRINTABLE),
                  AfterValidator(_encodable)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="Id within the caller's tenant")]
SearchText = Annotated[
    str | None,
    Query(max_length=100, pattern=_PRINTABLE, description="Case-insensitive substring"),
    AfterValidator(lambda v: None if v is None else _encodable(v)),
]


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
