"""leads-service REST API: /api/v1/leads, and converting a lead (accounts + contacts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from reference_services.common.app import API_PREFIX, ServiceState, get_session, service_state
from reference_services.common.auth import ROLE_READ, ROLE_WRITE, Principal, require_role
from reference_services.common.errors import ApiError
from reference_services.common.pagination import Page, PageRequest, page_request
from reference_services.common.types import PathId
from reference_services.leads.models import Lead, LeadStatus
from reference_services.leads.repository import LeadRepository
from reference_services.leads.schemas import Conversion, LeadCreate, LeadOut, LeadUpdate

# The full prefix on the router itself: route templates (metric labels) then carry it.
router = APIRouter(prefix=f"{API_PREFIX}/leads", tags=["leads"])

Reader = Annotated[Principal, Depends(require_role(ROLE_READ))]
Writer = Annotated[Principal, Depends(require_role(ROLE_WRITE))]
DbSession = Annotated[Session, Depends(get_session)]
State = Annotated[ServiceState, Depends(service_state)]
Paging = Annotated[PageRequest, Depends(page_request)]


def _not_found(lead_id: int) -> ApiError:
    return ApiError(404, "not_found", f"lead {lead_id} not found", "lead_id")


@router.get("", response_model=Page[LeadOut], summary="List leads")
def list_leads(user: Reader, session: DbSession, page: Paging,
               status: Annotated[LeadStatus | None, Query(description="Only this status")] = None,
               ) -> Page[LeadOut]:
    criteria = () if status is None else (Lead.status == status.value,)
    rows, total = LeadRepository(session, user.tenant_id).list(page, *criteria)
    return Page[LeadOut](items=[LeadOut.model_validate(r) for r in rows], total=total,
                         limit=page.limit, offset=page.offset)


@router.post("", response_model=LeadOut, status_code=201, summary="Create a lead")
def create_lead(body: LeadCreate, user: Writer, session: DbSession) -> LeadOut:
    if body.status == LeadStatus.CONVERTED:
        raise ApiError(422, "validation_error", "use POST /leads/{id}/convert", "body.status")
    row = LeadRepository(session, user.tenant_id).add({**body.model_dump(),
                                                       "status": body.status.value})
    return LeadOut.model_validate(row)


@router.get("/{lead_id}", response_model=LeadOut, summary="Read a lead")
def get_lead(lead_id: PathId, user: Reader, session: DbSession) -> LeadOut:
    row = LeadRepository(session, user.tenant_id).get(lead_id)
    if row is None:
        raise _not_found(lead_id)
    return LeadOut.model_validate(row)


@router.patch("/{lead_id}", response_model=LeadOut, summary="Change a lead")
def update_lead(lead_id: PathId, body: LeadUpdate, user: Writer, session: DbSession) -> LeadOut:
    changes = body.model_dump(exclude_unset=True)
    for field in ("first_name", "last_name", "email", "company", "status"):
        if field in changes and changes[field] is None:
            raise ApiError(422, "validation_error", f"{field} cannot be null", f"body.{field}")
    if changes.get("status") == LeadStatus.CONVERTED:
        raise ApiError(422, "validation_error", "use POST /leads/{id}/convert", "body.status")
    repo = LeadRepository(session, user.tenant_id)
    row = repo.get(lead_id)
    if row is None:
        raise _not_found(lead_id)
    if row.status == LeadStatus.CONVERTED:
        raise ApiError(409, "conflict", f"lead {lead_id} is converted and read-only")
    if "status" in changes:
        changes["status"] = LeadStatus(changes["status"]).value
    return LeadOut.model_validate(repo.update(lead_id, changes))


@router.delete("/{lead_id}", status_code=204, response_class=Response, summary="Delete a lead")
def delete_lead(lead_id: PathId, user: Writer, session: DbSession) -> Response:
    if not LeadRepository(session, user.tenant_id).delete(lead_id):
        raise _not_found(lead_id)
    return Response(status_code=204)


async def _created_id(state: ServiceState, peer: str, path: str, user: Principal,
                      body: dict[str, Any]) -> int:
    response = await state.downstream[peer].request("POST", path, user.token, json=body)
    if response.status_code == 201:
        return int(response.json()["id"])
    if response.status_code in (401, 403):
        raise ApiError(403, "forbidden", f"{peer}-service refused the caller "
                       f"(HTTP {response.status_code})")
    if response.status_code == 409:
        raise ApiError(409, "conflict", f"{peer}-service: the {peer[:-1]} already exists")
    raise ApiError(502, "bad_gateway", f"{peer}-service answered {response.status_code}")


@router.post("/{lead_id}/convert", response_model=Conversion,
             summary="Convert a lead into an account and a contact")
async def convert_lead(lead_id: PathId, user: Writer, session: DbSession,
                       state: State) -> Conversion:
    repo = LeadRepository(session, user.tenant_id)
    lead = await run_in_threadpool(repo.get, lead_id)
    if lead is None:
        raise _not_found(lead_id)
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
        raise ApiError(409, "conflict", f"lead {lead_id} is {lead.status}")
    account_id = await _created_id(state, "accounts", "/api/v1/accounts", user,
                                   {"name": lead.company})
    try:
        contact_id = await _created_id(state, "contacts", "/api/v1/contacts", user, {
            "first_name": lead.first_name, "last_name": lead.last_name, "email": lead.email,
            "company": lead.company, "account_id": account_id})
    except ApiError:
        # Undo the half-done conversion so a retry starts clean (best effort).
        await state.downstream["accounts"].request(
            "DELETE", f"/api/v1/accounts/{account_id}", user.token)
        raise
    changes = {"status": LeadStatus.CONVERTED.value, "contact_id": contact_id,
               "account_id": account_id}
    row = await run_in_threadpool(repo.update, lead_id, changes)
    assert row is not None
    return Conversion(lead=LeadOut.model_validate(row), contact_id=contact_id,
                      account_id=account_id)
