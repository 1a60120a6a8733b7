"""contacts-service REST API: /api/v1/contacts."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from crm_observability import conventions as names
from crm_observability.tracing import set_span_attributes, traced
from reference_services.common.app import (
    API_PREFIX,
    ServiceState,
    entity_response,
    get_session,
    json_response,
    service_state,
)
from reference_services.common.auth import ROLE_READ, ROLE_WRITE, Principal, require_role
from reference_services.common.errors import ApiError
from reference_services.common.pagination import Page, PageRequest, page_request
from reference_services.common.types import PathId, SearchText
from reference_services.contacts.repository import ContactRepository
from reference_services.contacts.schemas import ContactCreate, ContactOut, ContactUpdate

KIND = "contact"
# The full prefix on the router itself: route templates (metric labels) then carry it.
router = APIRouter(prefix=f"{API_PREFIX}/contacts", tags=["contacts"])

Reader = Annotated[Principal, Depends(require_role(ROLE_READ))]
Writer = Annotated[Principal, Depends(require_role(ROLE_WRITE))]
DbSession = Annotated[Session, Depends(get_session)]
State = Annotated[ServiceState, Depends(service_state)]
Paging = Annotated[PageRequest, Depends(page_request)]


def _not_found(contact_id: int) -> ApiError:
    return ApiError(404, "not_found", f"contact {contact_id} not found", "contact_id")


@traced(names.SPAN_CONTACT_SEARCH)
def search_contacts(repo: ContactRepository, text: str, page: PageRequest,
                    request: Request) -> tuple[list[ContactOut], int]:
    """The design document's ``contact-search`` span, timed by the search histogram."""
    set_span_attributes({names.ATTR_QUERY_LENGTH: len(text), names.ATTR_TENANT_ID: repo.tenant_id})
    started = time.perf_counter()
    rows, total = repo.search(text, page)
    request.app.state.search_duration.observe(time.perf_counter() - started)
    set_span_attributes({names.ATTR_RESULTS_COUNT: len(rows)})
    return [ContactOut.model_validate(r) for r in rows], total


@router.get("", response_model=Page[ContactOut], summary="List or search contacts")
def list_contacts(request: Request, user: Reader, state: State, page: Paging,
                  q: SearchText = None) -> Response:
    # The session is opened here, in the one worker thread FastAPI runs this in.
    with state.reads() as session:
        repo = ContactRepository(session, user.tenant_id)
        if q:
            items, total = search_contacts(repo, q, page, request)
        else:
            rows, total = repo.list(page)
            items = [ContactOut.model_validate(r) for r in rows]
    # Built and validated here: returned as JSON so FastAPI does not validate it twice.
    return json_response(Page[ContactOut](items=items, total=total, limit=page.limit,
                                          offset=page.offset))


@router.post("", response_model=ContactOut, status_code=201, summary="Create a contact")
def create_contact(request: Request, body: ContactCreate, user: Writer,
                   state: State) -> Response:
    with state.sessions() as session:
        row = ContactRepository(session, user.tenant_id).add(body.model_dump())
        out = ContactOut.model_validate(row)
    request.app.state.contacts_created.inc()
    return json_response(out, status_code=201)


@router.get("/{contact_id}", response_model=ContactOut, summary="Read a contact")
async def get_contact(contact_id: PathId, user: Reader, state: State) -> Response:
    found = await entity_response(state, user.tenant_id, KIND, contact_id,
                                  ContactRepository, ContactOut)
    if found is None:
        raise _not_found(contact_id)
    return found


@router.patch("/{contact_id}", response_model=ContactOut, summary="Change a contact")
def update_contact(contact_id: PathId, body: ContactUpdate, user: Writer, session: DbSession,
                   state: State) -> ContactOut:
    changes = body.model_dump(exclude_unset=True)
    for field in ("first_name", "last_name", "email"):
        if field in changes and changes[field] is None:
            raise ApiError(422, "validation_error", f"{field} cannot be null", f"body.{field}")
    row = ContactRepository(session, user.tenant_id).update(contact_id, changes)
    if row is None:
        raise _not_found(contact_id)
    if state.cache is not None:
        state.cache.evict(user.tenant_id, KIND, contact_id)
    return ContactOut.model_validate(row)


@router.delete("/{contact_id}", status_code=204, response_class=Response,
               summary="Delete a contact")
def delete_contact(contact_id: PathId, user: Writer, session: DbSession, state: State) -> Response:
    if not ContactRepository(session, user.tenant_id).delete(contact_id):
        raise _not_found(contact_id)
    if state.cache is not None:
        state.cache.evict(user.tenant_id, KIND, contact_id)
    return Response(status_code=204)
