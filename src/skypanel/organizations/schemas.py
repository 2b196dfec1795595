from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from skypanel.accounts.schemas import LinkToken, LoginOut, Password, UserOut
from skypanel.kit.schema import ApiModel, InputModel

Role = Literal["owner", "admin", "member"]


class OrganizationOut(ApiModel):
    id: uuid.UUID
    name: str
    slug: str
    personal: bool
    created_at: datetime


class MyOrganizationOut(OrganizationOut):
    role: Role


class MemberOut(ApiModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    joined_at: datetime


class OrganizationIn(InputModel):
    name: str = Field(min_length=1, max_length=200)


class MemberIn(InputModel):
    email: EmailStr
    role: Literal["admin", "member"] = "member"


class RoleIn(InputModel):
    role: Literal["admin", "member"]


class TransferIn(InputModel):
    user_id: uuid.UUID


class RegisterOut(LoginOut):
    organization: OrganizationOut


class MeOut(ApiModel):
    user: UserOut
    organizations: list[OrganizationOut]


class InvitationIn(InputModel):
    email: EmailStr
    role: Literal["admin", "member"] = "member"


class InvitationOut(ApiModel):
    id: uuid.UUID
    email: str
    role: Literal["admin", "member"]
    invited_by_id: uuid.UUID | None
    expires_at: datetime
    created_at: datetime


class AcceptIn(InputModel):
    token: str = LinkToken


class AcceptNewIn(InputModel):
    token: str = LinkToken
    name: str = Field(min_length=1, max_length=100)
    password: str = Password
