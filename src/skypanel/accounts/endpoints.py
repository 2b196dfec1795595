from __future__ import annotations

from fastapi import APIRouter, Response, status

from skypanel.accounts import service
from skypanel.accounts.auth import CurrentUser
from skypanel.accounts.schemas import (
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    Tokens,
    UserOut,
)
from skypanel.accounts.service import IssuedTokens
from skypanel.http.deps import AppSettings, Session
from skypanel.http.errors import responses
from skypanel.models import User
from skypanel.organizations import repository as orgs
from skypanel.organizations import service as organizations
from skypanel.organizations.schemas import MeOut, OrganizationOut, RegisterOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _signed_in(user: User, issued: IssuedTokens) -> LoginOut:
    return LoginOut(
        user=UserOut.model_validate(user),
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
    )


@router.post(
    "/register",
    response_model=RegisterOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(409, 422, 429),
)
async def register(body: RegisterIn, session: Session, settings: AppSettings) -> RegisterOut:
    """Create an account with a personal organization and wallet; returns signed-in tokens."""
    user, organization, issued = await organizations.register(
        session, settings, email=str(body.email), password=body.password, name=body.name
    )
    return RegisterOut(
        **_signed_in(user, issued).model_dump(by_alias=False),
        organization=OrganizationOut.model_validate(organization),
    )


@router.post("/login", response_model=LoginOut, responses=responses(401, 422, 423, 429))
async def login(body: LoginIn, session: Session, settings: AppSettings) -> LoginOut:
    """Sign in. Repeated failures lock the account for a while (423 with `Retry-After`)."""
    user, issued = await service.login(session, settings, email=body.email, password=body.password)
    return _signed_in(user, issued)


@router.post("/refresh", response_model=LoginOut, responses=responses(401, 422, 429))
async def refresh(body: RefreshIn, session: Session, settings: AppSettings) -> LoginOut:
    """Rotate a refresh token: the old one stops working, a reused one revokes the sign-in."""
    user, issued = await service.refresh(session, settings, body.refresh_token)
    return _signed_in(user, issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=responses(422))
async def logout(body: RefreshIn, session: Session) -> Response:
    """Revoke the refresh token (and those rotated from it)."""
    await service.logout(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut, responses=responses(401))
async def me(user: CurrentUser, session: Session) -> MeOut:
    rows = await orgs.memberships_of(session, user.id)
    return MeOut(
        user=UserOut.model_validate(user),
        organizations=[OrganizationOut.model_validate(org) for org, _ in rows],
    )


@router.post("/password", response_model=Tokens, responses=responses(401, 403, 422))
async def change_password(
    body: PasswordChangeIn,
    user: CurrentUser,
    session: Session,
    settings: AppSettings,
) -> Tokens:
    """Change the password; every other sign-in ends. Returns fresh tokens for this one."""
    issued = await service.change_password(
        session, settings, user, current=body.current_password, new=body.new_password
    )
    return Tokens(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
    )
