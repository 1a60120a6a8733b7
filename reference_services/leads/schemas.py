"""Request and response bodies of leads-service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from reference_services.common.types import Email, LongName, Name, Short, UtcDatetime
from reference_services.leads.models import LeadStatus


class LeadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name
    last_name: Name
    email: Email
    company: LongName
    source: Short | None = None
    status: LeadStatus = LeadStatus.NEW


class LeadUpdate(BaseModel):
    """Only the fields sent are changed; conversion goes through /convert."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    company: LongName | None = None
    source: Short | None = None
    status: LeadStatus | None = None


class LeadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str
    email: str
    company: str
    source: str | None
    status: LeadStatus
    contact_id: int | None
    account_id: int | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class Conversion(BaseModel):
    lead: LeadOut
    contact_id: int
    account_id: int
