from __future__ import annotations

from fastapi import APIRouter, Response, status

from skypanel.accounts import recovery, service, verification
from skypanel.accounts.auth import CurrentUser
from skypanel.accounts.schemas import (
    AcceptedOut,
    EmailChangeIn,
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    RegisterIn,
    TokenIn,
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


@router.post(
    "/password-reset",
    response_model=AcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(422, 429),
)
async def request_password_reset(body: PasswordResetIn, session: Session) -> AcceptedOut:
    """Email a link to choose a new password (30 minutes, once). The answer is the same whether
    or not the address has an account."""
    await recovery.request_password_reset(session, body.email)
    return AcceptedOut(message=recovery.REQUESTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(400, 410, 422, 429),
)
async def reset_password(body: PasswordResetConfirmIn, session: Session) -> Response:
    """Set a new password from the emailed link; every sign-in of the account ends."""
    await recovery.reset_password(session, body.token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/verify-email", response_model=UserOut, responses=responses(400, 409, 410, 422, 429))
async def verify_email(body: TokenIn, session: Session) -> UserOut:
    """Follow a verification or email-change link: the address is confirmed (or becomes the
    account's address)."""
    return UserOut.model_validate(await verification.verify_email(session, body.token))


@router.post(
    "/verify-email/resend",
    response_model=AcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(401, 409),
)
async def resend_verification(user: CurrentUser, session: Session) -> AcceptedOut:
    """A new verification link (the earlier ones stop working)."""
    await verification.resend_verification(session, user)
    return AcceptedOut(message=f"A new confirmation link is on its way to {user.email}.")


@router.post(
    "/email",
    response_model=AcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(401, 403, 409, 422),
)
async def change_email(body: EmailChangeIn, user: CurrentUser, session: Session) -> AcceptedOut:
    """Move the account to another address: a link goes there, and the address changes once it
    is followed (until then the current one stays)."""
    await verification.request_email_change(
        session, user, new_email=str(body.new_email), password=body.password
    )
    return AcceptedOut(message=f"Follow the link sent to {body.new_email} to confirm it.")
