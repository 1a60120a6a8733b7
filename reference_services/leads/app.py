"""leads-service: ``uvicorn reference_services.leads.app:app --port 8083``.

Converting a lead calls accounts-service (``ACCOUNTS_SERVICE_URL``) and
contacts-service (``CONTACTS_SERVICE_URL``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from crm_observability import Settings
from reference_services.common.app import build_app
from reference_services.common.config import ServiceConfig
from reference_services.leads.api import router


def create_app(settings: Settings | None = None, *, config: ServiceConfig | None = None,
               **options: Any) -> FastAPI:
    return build_app("leads", router, settings=settings, config=config,
                     peers=("accounts", "contacts"),
                     description="Leads, and their conversion into accounts and contacts.",
                     **options)


def __getattr__(name: str) -> Any:
    # `uvicorn reference_services.leads.app:app`: built on first access, not on import.
    if name == "app":
        globals()["app"] = value = create_app()
        return value
    raise AttributeError(name)
