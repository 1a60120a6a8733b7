"""Accounts of one tenant."""

from __future__ import annotations

from reference_services.accounts.models import Account
from reference_services.common.repository import TenantRepository


class AccountRepository(TenantRepository[Account]):
    model = Account
    order_by = ("name", "id")
