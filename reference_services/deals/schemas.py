"""Request and response bodies of deals-service."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from reference_services.common.types import Id, LongName, UtcDatetime
from reference_services.deals.models import Stage

Amount = Annotated[float, Field(ge=0, le=999_999_999_999.99, allow_inf_nan=False)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


class DealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: LongName
    amount: Amount
    currency: Currency = "USD"
    stage: Stage = Stage.PROSPECTING
    contact_id: Id = Field(description="A contact of the caller's tenant (checked)")
    account_id: Id | None = None


class DealUpdate(BaseModel):
    """Only the fields sent are changed; closing a deal as won goes through /won."""

    model_config = ConfigDict(extra="forbid")

    title: LongName | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    stage: Stage | None = None
    account_id: Id | None = None


class DealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    amount: float
    currency: str
    stage: Stage
    contact_id: int
    account_id: int | None
    owner_id: str
    won_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class StageSummary(BaseModel):
    stage: Stage
    count: int
    amount: float


class Pipeline(BaseModel):
    """The design document's ``pipeline_view``: deals and amounts per stage."""

    stages: list[StageSummary]
    total_count: int
    total_amount: float
    open_amount: float
