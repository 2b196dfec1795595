from __future__ import annotations

import uuid
from datetime import datetime

from skypanel.kit.schema import ApiModel, InputModel


class NotificationOut(ApiModel):
    id: uuid.UUID
    organization_id: uuid.UUID | None
    category: str
    title: str
    body: str
    link: str | None
    read_at: datetime | None
    created_at: datetime


class NotificationPage(ApiModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class PreferencesIn(InputModel):
    """Email per category; security messages (sign-in, password) and billing-critical ones
    (renewal failed, suspension, termination) are always sent."""

    billing: bool | None = None
    services: bool | None = None
    account: bool | None = None


class PreferencesOut(ApiModel):
    billing: bool
    services: bool
    account: bool


class OutboxOut(ApiModel):
    id: uuid.UUID
    recipient: str
    template: str
    subject: str
    body: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboxPage(ApiModel):
    items: list[OutboxOut]
    next_cursor: str | None
