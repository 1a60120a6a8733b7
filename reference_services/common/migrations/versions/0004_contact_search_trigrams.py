"""Trigram indexes for the contact search (PostgreSQL only).

The search is a case-insensitive substring match (``lower(col) LIKE '%needle%'``) on
four columns; a B-tree cannot serve that, so every search scanned the tenant's rows
twice (count and page).  A GIN ``gin_trgm_ops`` index per ``lower(column)`` lets the
planner OR four bitmap scans instead.  ``fastupdate = off``: with a pending list
(bulk loads, steady inserts) the planner prices the index out and scans again until
a vacuum flushes it; inserting straight into the index costs the writer a little.
SQLite keeps scanning (it is the development backend), and so does PostgreSQL when
pg_trgm is not available on the server.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = ("first_name", "last_name", "email", "company")


def _index(column: str) -> str:
    return f"ix_contacts_{column}_trgm"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if available is None:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.execute(f"CREATE INDEX IF NOT EXISTS {_index(column)} ON contacts "
                   f"USING gin (lower({column}) gin_trgm_ops) WITH (fastupdate = off)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in reversed(COLUMNS):
        op.execute(f"DROP INDEX IF EXISTS {_index(column)}")
