"""deals table (owned by deals-service) and the pipeline stages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from reference_services.common.db import Base, utcnow


class Stage(StrEnum):
    """Pipeline stages, in pipeline order (a bounded set, safe as a label)."""

    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"


CLOSED_STAGES = frozenset({Stage.CLOSED_WON, Stage.CLOSED_LOST})


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_tenant_stage", "tenant_id", "stage"),
        Index("ix_deals_tenant_contact", "tenant_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    amount: Mapped[float] = mapped_column(Numeric(14, 2, asdecimal=False), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    stage: Mapped[str] = mapped_column(String(20), nullable=False)
    contact_id: Mapped[int] = mapped_column(Integer, nullable=False)  # contacts-service id
    account_id: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[str] = mapped_column(String(64), nullable=False)
    won_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
