"""Deals of one tenant, and the pipeline aggregation."""

from __future__ import annotations

from sqlalchemy import func, select

from reference_services.common.db import utcnow
from reference_services.common.repository import TenantRepository
from reference_services.deals.models import Deal, Stage


class DealRepository(TenantRepository[Deal]):
    model = Deal
    order_by = ("id",)

    def pipeline(self) -> dict[Stage, tuple[int, float]]:
        """(count, amount) per stage, every stage present (zeros included)."""
        query = (select(Deal.stage, func.count(), func.coalesce(func.sum(Deal.amount), 0))
                 .where(Deal.tenant_id == self.tenant_id).group_by(Deal.stage))
        found = {row[0]: (int(row[1]), float(row[2])) for row in self.session.execute(query)}
        return {stage: found.get(stage.value, (0, 0.0)) for stage in Stage}

    def mark_won(self, deal: Deal) -> Deal:
        deal.stage = Stage.CLOSED_WON
        deal.won_at = utcnow()
        self.session.commit()
        return deal
