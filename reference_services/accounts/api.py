"""accounts-service REST API: /api/v1/accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from reference_services.accounts.repository import AccountRepository
from reference_services.accounts.schemas import AccountCreate, AccountOut, AccountUpdate
from reference_services.common.app import API_PREFIX, ServiceState, get_session, service_state
from reference_services.common.auth import ROLE_READ, ROLE_WRITE, Principal, require_role
from reference_services.common.cache import read_through
from reference_services.common.errors import ApiError
from reference_services.common.pagination import Page, PageRequest, page_request
from reference_services.common.types import PathId

KIND = "account"
# The full prefix on the router itself: route templates (metric labels) then carry it.
router = APIRouter(prefix=f"{API_PREFIX}/accounts", tags=["accounts"])

Reader = Annotated[Principal, Depends(require_role(ROLE_READ))]
Writer = Annotated[Principal, Depends(require_role(ROLE_WRITE))]
DbSession = Annotated[Session, Depends(get_session)]
State = Annotated[ServiceState, Depends(service_state)]
Paging = Annotated[PageRequest, Depends(page_request)]


def _not_found(account_id: int) -> ApiError:
    return ApiError(404, "not_found", f"account {account_id} not found", "account_id")


@router.get("", response_model=Page[AccountOut], summary="List accounts")
def list_accounts(user: Reader, session: DbSession, page: Paging) -> Page[AccountOut]:
    rows, total = AccountRepository(session, user.tenant_id).list(page)
    return Page[AccountOut](items=[AccountOut.model_validate(r) for r in rows], total=total,
                            limit=page.limit, offset=page.offset)


@router.post("", response_model=AccountOut, status_code=201, summary="Create an account")
def create_account(body: AccountCreate, user: Writer, session: DbSession) -> AccountOut:
    row = AccountRepository(session, user.tenant_id).add(body.model_dump())
    return AccountOut.model_validate(row)


@router.get("/{account_id}", response_model=AccountOut, summary="Read an account")
def get_account(account_id: PathId, user: Reader, session: DbSession,
                state: State) -> AccountOut:
    repository = AccountRepository(session, user.tenant_id)
    out = read_through(state.cache, user.tenant_id, KIND, account_id,
                       lambda: repository.get(account_id), AccountOut)
    if out is None:
        raise _not_found(account_id)
    return out


@router.patch("/{account_id}", response_model=AccountOut, summary="Change an account")
def update_account(account_id: PathId, body: AccountUpdate, user: Writer, session: DbSession,
                   state: State) -> AccountOut:
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise ApiError(422, "validation_error", "name cannot be null", "body.name")
    row = AccountRepository(session, user.tenant_id).update(account_id, changes)
    if row is None:
        raise _not_found(account_id)
    if state.cache is not None:
        state.cache.evict(user.tenant_id, KIND, account_id)
    return AccountOut.model_validate(row)


@router.delete("/{account_id}", status_code=204, response_class=Response,
               summary="Delete an account")
def delete_account(account_id: PathId, user: Writer, session: DbSession,
                   state: State) -> Response:
    if not AccountRepository(session, user.tenant_id).delete(account_id):
        raise _not_found(account_id)
    if state.cache is not None:
        state.cache.evict(user.tenant_id, KIND, account_id)
    return Response(status_code=204)
