"""Request and response bodies of accounts-service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from reference_services.common.types import LongName, Name, UtcDatetime, Website


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: LongName
    industry: Name | None = None
    website: Website | None = None


class AccountUpdate(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    name: LongName | None = None
    industry: Name | None = None
    website: Website | None = None


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    industry: str | None
    website: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
