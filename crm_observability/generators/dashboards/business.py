"""Business dashboard: the design document's custom metrics (contacts, deals, search, users)."""

from __future__ import annotations

from crm_observability import conventions as names
from crm_observability.generators.dashboards.panels import DashboardSpec, Panel, Query, Row
from crm_observability.generators.dashboards.queries import RANGE, quantile, rate_sum, scoped

UID = "crm-business"
_PER_MINUTE = 60


def _per_minute(counter: str) -> str:
    return f"{rate_sum(scoped(counter))} * {_PER_MINUTE}"


def business_dashboard() -> DashboardSpec:
    search = scoped(f"{names.CONTACTS_SEARCH_DURATION}_bucket")
    activity = Row(100, "Activity", (
        Panel(1, "Contacts created per minute", f"Rate of {names.CONTACTS_CREATED_TOTAL}.",
              "cpm", (Query(_per_minute(names.CONTACTS_CREATED_TOTAL), "contacts"),), min=0,
              width=9),
        Panel(2, "Contacts created", "Contacts created over the picked time range.", "short",
              (Query(f"sum(increase({scoped(names.CONTACTS_CREATED_TOTAL)}[{RANGE}]))",
                     "contacts", instant=True),), kind="stat", width=3),
        Panel(3, "Deals won per minute", f"Rate of {names.DEALS_WON_TOTAL}.", "cpm",
              (Query(_per_minute(names.DEALS_WON_TOTAL), "deals"),), min=0, width=9),
        Panel(4, "Deals won", "Deals won over the picked time range.", "short",
              (Query(f"sum(increase({scoped(names.DEALS_WON_TOTAL)}[{RANGE}]))", "deals",
                     instant=True),), kind="stat", width=3),
    ))
    usage = Row(200, "Usage", (
        Panel(5, "Contact search duration", "Median, 95th and 99th percentile of contact "
              "search time.", "s",
              (Query(quantile(0.5, search), "p50"), Query(quantile(0.95, search), "p95"),
               Query(quantile(0.99, search), "p99")), min=0, width=9),
        Panel(6, "Contact searches per second", "Rate of contact searches.", "ops",
              (Query(rate_sum(scoped(f"{names.CONTACTS_SEARCH_DURATION}_count")),
                     "searches"),), min=0, width=6),
        Panel(7, "Active users", f"Users active now ({names.USERS_ACTIVE}), by service.",
              "short", (Query(f"sum by ({names.LABEL_SERVICE}) "
                              f"({scoped(names.USERS_ACTIVE)})", "{{service}}"),),
              min=0, width=9),
    ))
    return DashboardSpec(
        uid=UID, title="CRM business metrics", tags=("crm", "business"),
        description="Contacts created, deals won, contact search time and active users.",
        rows=(activity, usage),
    )
