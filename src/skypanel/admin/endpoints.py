from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status

from skypanel.accounts.auth import AdminUser
from skypanel.accounts.schemas import UserOut
from skypanel.admin import repository, service
from skypanel.admin.schemas import (
    AdminOrganizationOut,
    OrganizationPage,
    UserPage,
    UserUpdateIn,
)
from skypanel.billing.service import after_credit
from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit import uow
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from skypanel.models import Organization, Wallet
from skypanel.wallet.schemas import AdjustmentIn, TransactionOut

router = APIRouter(prefix="/api/admin", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Search = Annotated[str | None, Query(min_length=1, max_length=100)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("/users", response_model=UserPage, responses=responses(401, 403, 422))
async def list_users(
    _: AdminUser,
    session: Session,
    search: Search = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> UserPage:
    """Every account, newest first; `search` matches the start of the email or name (see
    docs/admin.md)."""
    rows, next_cursor = await repository.users_page(
        session, search=search, cursor=cursor, limit=limit
    )
    return UserPage(items=[UserOut.model_validate(row[0]) for row in rows], next_cursor=next_cursor)


@router.patch("/users/{user_id}", response_model=UserOut, responses=responses(401, 403, 404, 422))
async def update_user(
    user_id: uuid.UUID, body: UserUpdateIn, admin: AdminUser, session: Session
) -> UserOut:
    """Change a user's platform role or disable the account (their sessions end at once)."""
    user = await service.update_user(session, admin, user_id, role=body.role, active=body.is_active)
    return UserOut.model_validate(user)


@router.get("/organizations", response_model=OrganizationPage, responses=responses(401, 403, 422))
async def list_organizations(
    _: AdminUser,
    session: Session,
    search: Search = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> OrganizationPage:
    """Every organization with its wallet, newest first; `search` matches the start of the name
    or slug (see docs/admin.md)."""
    rows, next_cursor = await repository.organizations_page(
        session, search=search, cursor=cursor, limit=limit
    )
    return OrganizationPage(
        items=[_organization(org, wallet) for org, wallet, *_ in rows], next_cursor=next_cursor
    )


def _organization(org: Organization, wallet: Wallet | None) -> AdminOrganizationOut:
    return AdminOrganizationOut(
        id=org.id,
        name=org.name,
        slug=org.slug,
        personal=org.personal,
        balance=wallet.balance_cents if wallet else None,
        currency=wallet.currency if wallet else None,
        created_at=org.created_at,
    )


@router.post(
    "/organizations/{organization_id}/wallet/adjustments",
    response_model=TransactionOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 402, 403, 404, 409, 422),
)
async def adjust_wallet(
    request: Request,
    organization_id: uuid.UUID,
    body: AdjustmentIn,
    admin: AdminUser,
    session: Session,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> TransactionOut:
    """Credit or debit an organization's wallet with a reason. A debit never overdraws it.

    A credit settles overdue renewals at once and resumes a suspended subscription.
    Send an `Idempotency-Key` header to make a retried request safe.
    """
    entry = await service.adjust_wallet(
        session,
        admin,
        organization_id,
        amount_cents=body.amount,
        description=body.description,
        idempotency_key=idempotency_key or uuid.uuid4().hex,
    )
    if entry.amount_cents > 0:
        sessions = request.app.state.sessions
        uow.after_commit(session, partial(after_credit, sessions, organization_id))
    return TransactionOut.model_validate(entry)
