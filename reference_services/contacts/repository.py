"""Contacts of one tenant."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_

from reference_services.common.pagination import PageRequest
from reference_services.common.repository import TenantRepository
from reference_services.contacts.models import Contact


class ContactRepository(TenantRepository[Contact]):
    model = Contact
    order_by = ("last_name", "first_name", "id")

    def search(self, text: str, page: PageRequest) -> tuple[Sequence[Contact], int]:
        """Case-insensitive substring match on names, company and e-mail (``%``/``_`` literal)."""
        needle = text.lower()
        columns = (Contact.first_name, Contact.last_name, Contact.company, Contact.email)
        match = or_(*(func.lower(c).contains(needle, autoescape=True) for c in columns))
        return self.list(page, match)
