"""contacts table (owned by contacts-service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from reference_services.common.db import Base, utcnow


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email", name="uq_contacts_tenant_email"),
        Index("ix_contacts_tenant_last_name", "tenant_id", "last_name"),
        # The search's substring match (migration 0004): PostgreSQL trigram indexes only.
        *(Index(f"ix_contacts_{column}_trgm", func.lower(column), postgresql_using="gin",
                postgresql_ops={"lower": "gin_trgm_ops"},
                postgresql_with={"fastupdate": "off"}).ddl_if(dialect="postgresql")
          for column in ("first_name", "last_name", "email", "company")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), nullable=False)
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(40))
    company: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(Integer)  # accounts-service id, no FK
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
