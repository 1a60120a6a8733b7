"""Tenant-scoped data access: every query carries ``tenant_id = :caller's tenant``.

The scoping lives here, once, so no endpoint can forget it: a row of another
tenant is simply not found (404), never read, updated or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from reference_services.common.db import Base
from reference_services.common.pagination import PageRequest

M = TypeVar("M", bound=Base)


class TenantRepository(Generic[M]):
    model: ClassVar[type[Any]]
    order_by: ClassVar[tuple[str, ...]] = ("id",)

    def __init__(self, session: Session, tenant_id: str) -> None:
        self.session, self.tenant_id = session, tenant_id

    def scoped(self, *criteria: ColumnElement[bool]) -> Select[Any]:
        return select(self.model).where(self.model.tenant_id == self.tenant_id, *criteria)

    def get(self, entity_id: int) -> M | None:
        row: M | None = self.session.scalars(self.scoped(self.model.id == entity_id)).first()
        return row

    def list(self, page: PageRequest,
             *criteria: ColumnElement[bool]) -> tuple[Sequence[M], int]:
        where = (self.model.tenant_id == self.tenant_id, *criteria)
        counted = select(func.count()).select_from(self.model).where(*where)
        ordering = [getattr(self.model, name) for name in self.order_by]
        # The page and the total in one round trip: PostgreSQL runs the uncorrelated
        # count once (an InitPlan), as cheap as the separate query it replaces.
        found = self.session.execute(
            select(self.model, counted.scalar_subquery().correlate(None)).where(*where)
            .order_by(*ordering).limit(page.limit).offset(page.offset)).all()
        if found:
            return [row[0] for row in found], int(found[0][1])
        # Past the last row (or none at all): no row carries the total, so ask for it.
        return [], int(self.session.scalar(counted) or 0)

    def add(self, values: Mapping[str, Any]) -> M:
        row: M = self.model(**values, tenant_id=self.tenant_id)
        self.session.add(row)
        self.session.commit()
        return row

    def update(self, entity_id: int, values: Mapping[str, Any]) -> M | None:
        row = self.get(entity_id)
        if row is None:
            return None
        for name, value in values.items():
            setattr(row, name, value)
        self.session.commit()
        return row

    def delete(self, entity_id: int) -> bool:
        row = self.get(entity_id)
        if row is None:
            return False
        self.session.delete(row)
        self.session.commit()
        return True

    def count(self) -> int:
        return int(self.session.scalar(
            select(func.count()).select_from(self.scoped().subquery())) or 0)
