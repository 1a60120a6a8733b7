"""deals-service REST API: /api/v1/deals (stages, pipeline view, won)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from reference_services.common.app import (
    API_PREFIX,
    JSON,
    ServiceState,
    entity_response,
    get_session,
    service_state,
)
from reference_services.common.auth import ROLE_READ, ROLE_WRITE, Principal, require_role
from reference_services.common.cache import read_through_json
from reference_services.common.errors import ApiError
from reference_services.common.pagination import Page, PageRequest, page_request
from reference_services.common.types import PathId
from reference_services.deals.models import CLOSED_STAGES, Deal, Stage
from reference_services.deals.repository import DealRepository
from reference_services.deals.schemas import (
    DealCreate,
    DealOut,
    DealUpdate,
    Pipeline,
    StageSummary,
)

KIND = "deal"
PIPELINE_KIND, PIPELINE_ID = "pipeline", 0  # one cached pipeline per tenant
PIPELINE_TTL_S = 5
# The full prefix on the router itself: route templates (metric labels) then carry it.
router = APIRouter(prefix=f"{API_PREFIX}/deals", tags=["deals"])

Reader = Annotated[Principal, Depends(require_role(ROLE_READ))]
Writer = Annotated[Principal, Depends(require_role(ROLE_WRITE))]
DbSession = Annotated[Session, Depends(get_session)]
State = Annotated[ServiceState, Depends(service_state)]
Paging = Annotated[PageRequest, Depends(page_request)]


def _not_found(deal_id: int) -> ApiError:
    return ApiError(404, "not_found", f"deal {deal_id} not found", "deal_id")


async def check_contact(state: ServiceState, user: Principal, contact_id: int) -> None:
    """Ask contacts-service, as the caller, whether the contact exists in the caller's tenant."""
    response = await state.downstream["contacts"].request(
        "GET", f"/api/v1/contacts/{contact_id}", user.token)
    if response.status_code == 404:
        raise ApiError(422, "invalid_reference", f"contact {contact_id} does not exist",
                       "body.contact_id")
    if response.status_code in (401, 403):
        raise ApiError(403, "forbidden", "contacts-service refused the caller "
                       f"(HTTP {response.status_code}); role 'crm.read' is required")
    if response.status_code != 200:
        raise ApiError(502, "bad_gateway",
                       f"contacts-service answered {response.status_code}")


@router.get("", response_model=Page[DealOut], summary="List deals")
def list_deals(user: Reader, session: DbSession, page: Paging,
               stage: Annotated[Stage | None, Query(description="Only this stage")] = None,
               ) -> Page[DealOut]:
    criteria = () if stage is None else (Deal.stage == stage.value,)
    rows, total = DealRepository(session, user.tenant_id).list(page, *criteria)
    return Page[DealOut](items=[DealOut.model_validate(r) for r in rows], total=total,
                         limit=page.limit, offset=page.offset)


@router.post("", response_model=DealOut, status_code=201,
             summary="Create a deal for a contact (checked with contacts-service)")
async def create_deal(body: DealCreate, user: Writer, session: DbSession,
                      state: State, request: Request) -> DealOut:
    if body.stage in CLOSED_STAGES:
        raise ApiError(422, "validation_error", "a new deal cannot start closed", "body.stage")
    await check_contact(state, user, body.contact_id)
    values = {**body.model_dump(), "stage": body.stage.value, "owner_id": user.user_id}
    row = await run_in_threadpool(DealRepository(session, user.tenant_id).add, values)
    if state.cache is not None:
        await state.cache.aevict(user.tenant_id, PIPELINE_KIND, PIPELINE_ID)
    return DealOut.model_validate(row)


@router.get("/pipeline", response_model=Pipeline, summary="Deals and amounts per stage")
async def pipeline_view(user: Reader, state: State) -> Response:
    def load() -> Pipeline:
        with state.reads() as session:
            per_stage = DealRepository(session, user.tenant_id).pipeline()
        stages = [StageSummary(stage=s, count=c, amount=round(a, 2))
                  for s, (c, a) in per_stage.items()]
        open_amount = sum(a for s, (_, a) in per_stage.items() if s not in CLOSED_STAGES)
        return Pipeline(stages=stages, total_count=sum(s.count for s in stages),
                        total_amount=round(sum(s.amount for s in stages), 2),
                        open_amount=round(open_amount, 2))

    # Evicted by every write of the tenant's deals; the short TTL bounds what a read
    # racing a write (computed before its commit, stored after its eviction) can leave.
    raw = await read_through_json(state.cache, user.tenant_id, PIPELINE_KIND, PIPELINE_ID,
                                  load, ttl_s=PIPELINE_TTL_S)
    assert raw is not None  # a pipeline always exists (zeros for a new tenant)
    return Response(raw, media_type=JSON)


@router.get("/{deal_id}", response_model=DealOut, summary="Read a deal")
async def get_deal(deal_id: PathId, user: Reader, state: State) -> Response:
    found = await entity_response(state, user.tenant_id, KIND, deal_id, DealRepository, DealOut)
    if found is None:
        raise _not_found(deal_id)
    return found


def _evict(state: ServiceState, tenant_id: str, deal_id: int) -> None:
    """After a committed change to a deal: its cached copy and the tenant's pipeline."""
    if state.cache is not None:
        state.cache.evict(tenant_id, KIND, deal_id)
        state.cache.evict(tenant_id, PIPELINE_KIND, PIPELINE_ID)


@router.patch("/{deal_id}", response_model=DealOut, summary="Change a deal or move its stage")
def update_deal(deal_id: PathId, body: DealUpdate, user: Writer, session: DbSession,
                state: State) -> DealOut:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("stage") == Stage.CLOSED_WON:
        # One way to win a deal, so crm_deals_won_total counts every win once.
        raise ApiError(422, "validation_error", "use POST /deals/{id}/won to win a deal",
                       "body.stage")
    for field in ("title", "amount", "currency", "stage"):
        if field in changes and changes[field] is None:
            raise ApiError(422, "validation_error", f"{field} cannot be null", f"body.{field}")
    if "stage" in changes:
        changes["stage"] = Stage(changes["stage"]).value
    repo = DealRepository(session, user.tenant_id)
    row = repo.get(deal_id)
    if row is None:
        raise _not_found(deal_id)
    if row.stage in CLOSED_STAGES and "stage" in changes:
        raise ApiError(409, "conflict", f"deal {deal_id} is closed ({row.stage})", "body.stage")
    updated = repo.update(deal_id, changes)
    _evict(state, user.tenant_id, deal_id)
    return DealOut.model_validate(updated)


@router.post("/{deal_id}/won", response_model=DealOut, summary="Mark a deal won")
def win_deal(deal_id: PathId, user: Writer, session: DbSession, request: Request,
             state: State) -> DealOut:
    repo = DealRepository(session, user.tenant_id)
    row = repo.get(deal_id)
    if row is None:
        raise _not_found(deal_id)
    if row.stage in CLOSED_STAGES:
        raise ApiError(409, "conflict", f"deal {deal_id} is already closed ({row.stage})")
    repo.mark_won(row)
    _evict(state, user.tenant_id, deal_id)
    request.app.state.deals_won.inc()
    return DealOut.model_validate(row)


@router.delete("/{deal_id}", status_code=204, response_class=Response, summary="Delete a deal")
def delete_deal(deal_id: PathId, user: Writer, session: DbSession,
                state: State) -> Response:
    if not DealRepository(session, user.tenant_id).delete(deal_id):
        raise _not_found(deal_id)
    _evict(state, user.tenant_id, deal_id)
    return Response(status_code=204)
