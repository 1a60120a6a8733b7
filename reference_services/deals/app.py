"""deals-service: ``uvicorn reference_services.deals.app:app --port 8082``.

Calls contacts-service (``CONTACTS_SERVICE_URL``) to check a deal's contact.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from crm_observability import Settings
from crm_observability import conventions as names
from reference_services.common.app import build_app
from reference_services.common.config import ServiceConfig
from reference_services.deals.api import router


def create_app(settings: Settings | None = None, *, config: ServiceConfig | None = None,
               **options: Any) -> FastAPI:
    app = build_app("deals", router, settings=settings, config=config, peers=("contacts",),
                    description="Deals, stages and the pipeline view.", **options)
    app.state.deals_won = app.state.service.obs.metrics.counter(
        names.DEALS_WON_TOTAL, "Number of deals won",
        labelnames=(names.LABEL_TYPE,)).labels("business")
    return app


def __getattr__(name: str) -> Any:
    # `uvicorn reference_services.deals.app:app`: built on first access, not on import.
    if name == "app":
        globals()["app"] = value = create_app()
        return value
    raise AttributeError(name)
