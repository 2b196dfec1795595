from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from skypanel.accounts.schemas import UserOut
from skypanel.kit.money import Money
from skypanel.kit.schema import ApiModel, InputModel


class UserPage(ApiModel):
    items: list[UserOut]
    next_cursor: str | None


class UserUpdateIn(InputModel):
    role: Literal["admin", "user"] | None = None
    is_active: bool | None = None


class AdminOrganizationOut(ApiModel):
    id: uuid.UUID
    name: str
    slug: str
    personal: bool
    balance: Money | None
    currency: str | None
    created_at: datetime


class OrganizationPage(ApiModel):
    items: list[AdminOrganizationOut]
    next_cursor: str | None
