"""Webhook endpoints over HTTP: an organization's own under `/api/webhooks` (its owners and
admins), the platform's under `/api/admin/webhooks` (platform admins). Both sets of routes are
the same code with a different owner, so they cannot drift apart: `None` is the platform.

No `from __future__ import annotations` here: the routes are defined in `_routes`, and FastAPI
must see their `Acting` annotation, a local name, evaluated."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from skypanel.accounts.auth import AdminUser
from skypanel.hooks.schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointUpdateIn,
    EndpointWithSecretOut,
    SecretOut,
)
from skypanel.http.deps import AppSettings, Session
from skypanel.http.errors import responses
from skypanel.models.webhooks import WebhookAttempt, WebhookDelivery
from skypanel.notices import webhooks
from skypanel.organizations.auth import CurrentOrg

Owner = Callable[..., Awaitable[uuid.UUID | None]]


async def _organization(org: CurrentOrg) -> uuid.UUID | None:
    org.require("owner", "admin")
    return org.id


async def _platform(_: AdminUser) -> uuid.UUID | None:
    return None


def _delivery(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        webhook_id=webhooks.webhook_id(row.id),
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        log=[AttemptOut.model_validate(attempt) for attempt in attempts],
    )


def _routes(router: APIRouter, owner: Owner) -> APIRouter:
    """Register every webhook route on `router`, acting for the owner `owner` answers."""
    Acting = Annotated[uuid.UUID | None, Depends(owner)]

    @router.post(
        "/endpoints",
        status_code=status.HTTP_201_CREATED,
        response_model=EndpointWithSecretOut,
        responses=responses(401, 403, 404, 422),
    )
    async def create_endpoint(
        body: EndpointIn, acting: Acting, session: Session, settings: AppSettings
    ) -> EndpointWithSecretOut:
        """Register an endpoint; the answer holds its signing secret, shown only this once."""
        endpoint, secret = await webhooks.create(
            session,
            acting,
            url=body.url,
            events=body.events,
            description=body.description,
            allow_private=settings.webhooks_allow_private,
        )
        shown = EndpointOut.model_validate(endpoint).model_dump()
        return EndpointWithSecretOut(**shown, secret=secret)

    @router.get("/endpoints", response_model=list[EndpointOut], responses=responses(401, 403, 404))
    async def list_endpoints(acting: Acting, session: Session) -> list[EndpointOut]:
        return [
            EndpointOut.model_validate(row) for row in await webhooks.endpoints(session, acting)
        ]

    @router.get(
        "/endpoints/{endpoint_id}", response_model=EndpointOut, responses=responses(401, 403, 404)
    )
    async def get_endpoint(endpoint_id: uuid.UUID, acting: Acting, session: Session) -> EndpointOut:
        return EndpointOut.model_validate(await webhooks.endpoint(session, acting, endpoint_id))

    @router.put(
        "/endpoints/{endpoint_id}",
        response_model=EndpointOut,
        responses=responses(401, 403, 404, 422),
    )
    async def update_endpoint(
        endpoint_id: uuid.UUID,
        body: EndpointUpdateIn,
        acting: Acting,
        session: Session,
        settings: AppSettings,
    ) -> EndpointOut:
        """Change the URL, the events, the description or whether it is on."""
        endpoint = await webhooks.change(
            session,
            acting,
            endpoint_id,
            url=body.url,
            events=body.events,
            description=body.description,
            enabled=body.enabled,
            allow_private=settings.webhooks_allow_private,
        )
        return EndpointOut.model_validate(endpoint)

    @router.delete(
        "/endpoints/{endpoint_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=responses(401, 403, 404),
    )
    async def delete_endpoint(endpoint_id: uuid.UUID, acting: Acting, session: Session) -> None:
        await webhooks.remove(session, acting, endpoint_id)

    @router.post(
        "/endpoints/{endpoint_id}/rotate-secret",
        response_model=SecretOut,
        responses=responses(401, 403, 404),
    )
    async def rotate_secret(endpoint_id: uuid.UUID, acting: Acting, session: Session) -> SecretOut:
        """A new signing secret, shown this once; the old one stops signing at once."""
        return SecretOut(secret=await webhooks.rotate_secret(session, acting, endpoint_id))

    @router.post(
        "/endpoints/{endpoint_id}/test",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=DeliveryOut,
        responses=responses(401, 403, 404),
    )
    async def send_test(endpoint_id: uuid.UUID, acting: Acting, session: Session) -> DeliveryOut:
        """Queue a `webhook.test` event for this endpoint; follow it in its deliveries."""
        return _delivery(await webhooks.send_test(session, acting, endpoint_id), [])

    @router.get(
        "/endpoints/{endpoint_id}/deliveries",
        response_model=list[DeliveryOut],
        responses=responses(401, 403, 404, 422),
    )
    async def list_deliveries(
        endpoint_id: uuid.UUID,
        acting: Acting,
        session: Session,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
    ) -> list[DeliveryOut]:
        """The latest deliveries, newest first, each with the log of its attempts."""
        found = await webhooks.deliveries(session, acting, endpoint_id, limit=limit)
        return [_delivery(row, attempts) for row, attempts in found]

    @router.post(
        "/deliveries/{delivery_id}/redeliver",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=DeliveryOut,
        responses=responses(401, 403, 404),
    )
    async def redeliver(delivery_id: uuid.UUID, acting: Acting, session: Session) -> DeliveryOut:
        """Send a delivery again now, with the same `webhook-id` and three new days of retries."""
        return _delivery(await webhooks.redeliver(session, acting, delivery_id), [])

    return router


router = APIRouter(tags=["webhooks"])
router.include_router(_routes(APIRouter(prefix="/api/webhooks"), _organization))
router.include_router(_routes(APIRouter(prefix="/api/admin/webhooks"), _platform))
