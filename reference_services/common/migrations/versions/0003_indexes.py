"""Tenant-leading indexes for every list and search query (design document V8).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_accounts_tenant_name", "accounts", ["tenant_id", "name"]),
    ("ix_contacts_tenant_last_name", "contacts", ["tenant_id", "last_name"]),
    ("ix_deals_tenant_stage", "deals", ["tenant_id", "stage"]),
    ("ix_deals_tenant_contact", "deals", ["tenant_id", "contact_id"]),
    ("ix_leads_tenant_status", "leads", ["tenant_id", "status"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
