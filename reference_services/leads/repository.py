"""Leads of one tenant."""

from __future__ import annotations

from reference_services.common.repository import TenantRepository
from reference_services.leads.models import Lead


class LeadRepository(TenantRepository[Lead]):
    model = Lead
    order_by = ("id",)
