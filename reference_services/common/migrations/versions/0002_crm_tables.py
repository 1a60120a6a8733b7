"""contacts, deals and leads (design document V2, V3, V4).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[Any]]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("company", sa.String(200)),
        sa.Column("account_id", sa.Integer),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_contacts_tenant_email"),
    )
    op.create_table(
        "deals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("contact_id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("won_at", sa.DateTime(timezone=True)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_deals"),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("source", sa.String(50)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("contact_id", sa.Integer),
        sa.Column("account_id", sa.Integer),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_leads"),
    )


def downgrade() -> None:
    op.drop_table("leads")
    op.drop_table("deals")
    op.drop_table("contacts")
