"""accounts-service: ``uvicorn reference_services.accounts.app:app --port 8084``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from crm_observability import Settings
from reference_services.accounts.api import KIND, router
from reference_services.accounts.models import Account
from reference_services.accounts.schemas import AccountOut
from reference_services.common.app import ServiceState, build_app
from reference_services.common.config import ServiceConfig

WARMUP_ROWS = 500


def warm_cache(state: ServiceState) -> int:
    """Load the most recently changed accounts into the cache."""
    assert state.cache is not None
    with state.sessions() as session:
        rows = session.scalars(
            select(Account).order_by(Account.updated_at.desc()).limit(WARMUP_ROWS)).all()
        docs = [(r.tenant_id, KIND, r.id, AccountOut.model_validate(r).model_dump(mode="json"))
                for r in rows]
    return state.cache.put_many(docs)


def create_app(settings: Settings | None = None, *, config: ServiceConfig | None = None,
               **options: Any) -> FastAPI:
    return build_app("accounts", router, settings=settings, config=config, warmup=warm_cache,
                     description="Accounts (companies) of the caller's tenant.", **options)


def __getattr__(name: str) -> Any:
    # `uvicorn reference_services.accounts.app:app`: built on first access, not on import.
    if name == "app":
        globals()["app"] = value = create_app()
        return value
    raise AttributeError(name)
