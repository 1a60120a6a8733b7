"""Seed data per profile (design document "Environment-Specific Data Seeding").

development: 100 contacts, 50 deals (and a few users, accounts, leads);
testing: 10,000 contacts, 5,000 deals, 100 users.  Sizes are configurable.
Idempotent: rows are numbered, and only the missing numbers are inserted, so
a second run adds nothing.  Each table goes to its owning service's database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from reference_services.accounts.models import Account, User
from reference_services.common import db
from reference_services.contacts.models import Contact
from reference_services.deals.models import Deal, Stage
from reference_services.leads.models import Lead, LeadStatus

DEFAULT_TENANT = "demo"
_BATCH = 1000
_INDUSTRIES = ("software", "retail", "finance", "health", "manufacturing")
_OPEN_STAGES = (Stage.PROSPECTING, Stage.QUALIFICATION, Stage.PROPOSAL, Stage.NEGOTIATION)


@dataclass(frozen=True, slots=True)
class SeedSizes:
    contacts: int
    deals: int
    users: int
    accounts: int
    leads: int

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{f.name}: {value!r} must be a non-negative integer")
        if self.deals > self.contacts:
            raise ValueError(f"deals: {self.deals} needs at least as many contacts "
                             f"(each deal references one), got {self.contacts}")


PROFILES: Mapping[str, SeedSizes] = {
    "development": SeedSizes(contacts=100, deals=50, users=2, accounts=10, leads=20),
    "testing": SeedSizes(contacts=10_000, deals=5_000, users=100, accounts=500, leads=1_000),
}


def _missing(engine: Engine, model: Any, tenant: str, target: int) -> range:
    with engine.connect() as connection:
        have = connection.scalar(
            select(func.count()).select_from(model).where(model.tenant_id == tenant)) or 0
    return range(int(have), target)


def _insert(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> int:
    with engine.begin() as connection:
        for start in range(0, len(rows), _BATCH):
            connection.execute(insert(model), rows[start:start + _BATCH])
        if rows and connection.dialect.name == "postgresql":
            # Fresh statistics: until autovacuum gets to a bulk-loaded table, the planner
            # guesses its size and may scan where an index (search trigrams) would do.
            connection.execute(text(f"ANALYZE {model.__tablename__}"))
    return len(rows)


def _users(n: range, tenant: str) -> list[dict[str, Any]]:
    return [{"tenant_id": tenant, "username": "admin" if i == 0 else f"sales{i:03d}",
             "display_name": "Admin User" if i == 0 else f"Sales Rep {i}",
             "role": "admin" if i == 0 else "sales", "created_at": db.utcnow()} for i in n]


def _accounts(n: range, tenant: str) -> list[dict[str, Any]]:
    now = db.utcnow()
    return [{"tenant_id": tenant, "name": f"Account {i + 1}",
             "industry": _INDUSTRIES[i % len(_INDUSTRIES)],
             "website": f"https://account{i + 1}.example.com",
             "created_at": now, "updated_at": now} for i in n]


def _contacts(n: range, tenant: str) -> list[dict[str, Any]]:
    now = db.utcnow()
    return [{"tenant_id": tenant, "first_name": "Contact", "last_name": f"{i + 1:05d}",
             "email": f"contact{i + 1}@example.com", "company": f"Account {i % 10 + 1}",
             "created_at": now, "updated_at": now} for i in n]


def _leads(n: range, tenant: str) -> list[dict[str, Any]]:
    now = db.utcnow()
    return [{"tenant_id": tenant, "first_name": "Lead", "last_name": f"{i + 1:05d}",
             "email": f"lead{i + 1}@example.com", "company": f"Prospect {i + 1}",
             "source": ("web", "event", "referral")[i % 3], "status": LeadStatus.NEW.value,
             "created_at": now, "updated_at": now} for i in n]


def _deals(n: range, tenant: str, contact_ids: list[int]) -> list[dict[str, Any]]:
    now = db.utcnow()
    rows = []
    for i in n:
        won = i % 10 == 9  # every tenth seeded deal is already won
        rows.append({
            "tenant_id": tenant, "title": f"Deal {i + 1}", "amount": 1000 + (i * 137) % 50_000,
            "currency": "USD",
            "stage": Stage.CLOSED_WON.value if won else _OPEN_STAGES[i % 4].value,
            "contact_id": contact_ids[i], "owner_id": "sales001", "won_at": now if won else None,
            "created_at": now, "updated_at": now})
    return rows


def seed(urls: Mapping[str, str], profile: str = "development", *,
         tenant: str = DEFAULT_TENANT, sizes: SeedSizes | None = None) -> dict[str, int]:
    """Seed each service database in ``urls`` (service -> SQLAlchemy URL); rows added per table."""
    if sizes is None:
        if profile not in PROFILES:
            raise ValueError(f"profile: {profile!r} is not one of {', '.join(PROFILES)}")
        sizes = PROFILES[profile]
    engines = {service: db.create_db_engine(url) for service, url in urls.items()}
    added: dict[str, int] = {}
    try:
        for engine in dict.fromkeys(engines.values()):
            db.upgrade(engine)
        accounts, contacts = engines["accounts"], engines["contacts"]
        added["users"] = _insert(accounts, User,
                                 _users(_missing(accounts, User, tenant, sizes.users), tenant))
        added["accounts"] = _insert(accounts, Account, _accounts(
            _missing(accounts, Account, tenant, sizes.accounts), tenant))
        added["contacts"] = _insert(contacts, Contact, _contacts(
            _missing(contacts, Contact, tenant, sizes.contacts), tenant))
        added["leads"] = _insert(engines["leads"], Lead, _leads(
            _missing(engines["leads"], Lead, tenant, sizes.leads), tenant))
        with contacts.connect() as connection:
            contact_ids = list(connection.scalars(
                select(Contact.id).where(Contact.tenant_id == tenant)
                .order_by(Contact.id).limit(sizes.deals)))
        added["deals"] = _insert(engines["deals"], Deal, _deals(
            _missing(engines["deals"], Deal, tenant, sizes.deals), tenant, contact_ids))
    finally:
        for engine in engines.values():
            engine.dispose()
    return added
