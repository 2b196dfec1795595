from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from skypanel.http.deps import Session
from skypanel.http.errors import responses
from skypanel.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_of
from skypanel.organizations.auth import CurrentOrg
from skypanel.wallet import repository
from skypanel.wallet.schemas import TransactionOut, TransactionPage, WalletOut
from skypanel.wallet.service import WalletNotFound

router = APIRouter(prefix="/api/wallet", tags=["wallet"])


@router.get("", response_model=WalletOut, responses=responses(401, 404))
async def get_wallet(org: CurrentOrg, session: Session) -> WalletOut:
    """The acting organization's wallet and balance."""
    wallet = await repository.of_organization(session, org.id)
    if wallet is None:
        raise WalletNotFound("The organization has no wallet")
    return WalletOut.model_validate(wallet)


@router.get("/transactions", response_model=TransactionPage, responses=responses(401, 404, 422))
async def list_transactions(
    org: CurrentOrg,
    session: Session,
    kind: Literal["credit", "debit", "refund", "adjustment"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> TransactionPage:
    """The wallet's ledger, newest first."""
    rows = await repository.entries(session, org.id, kind=kind, cursor=cursor, limit=limit)
    items, next_cursor = page_of(rows, limit)
    return TransactionPage(
        items=[TransactionOut.model_validate(row) for row in items], next_cursor=next_cursor
    )
