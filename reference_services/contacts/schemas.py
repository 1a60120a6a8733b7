"""Request and response bodies of contacts-service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from reference_services.common.types import Email, Id, LongName, Name, Phone, UtcDatetime


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name
    last_name: Name
    email: Email
    phone: Phone | None = None
    company: LongName | None = None
    account_id: Id | None = None


class ContactUpdate(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    company: LongName | None = None
    account_id: Id | None = None


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str
    email: str
    phone: str | None
    company: str | None
    account_id: int | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
