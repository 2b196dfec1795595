from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from skypanel.kit.schema import ApiModel, InputModel

Password = Field(min_length=10, max_length=256)


class UserOut(ApiModel):
    id: uuid.UUID
    email: str
    name: str
    role: Literal["admin", "user"]
    is_active: bool
    last_login_at: datetime | None
    email_verified_at: datetime | None
    created_at: datetime


class RegisterIn(InputModel):
    email: EmailStr
    password: str = Password
    name: str = Field(min_length=1, max_length=100)


class LoginIn(InputModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(InputModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class PasswordChangeIn(InputModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Password


class Tokens(ApiModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class LoginOut(Tokens):
    user: UserOut


LinkToken = Field(min_length=20, max_length=200)


class PasswordResetIn(InputModel):
    email: str = Field(min_length=3, max_length=320)


class PasswordResetConfirmIn(InputModel):
    token: str = LinkToken
    password: str = Password


class TokenIn(InputModel):
    token: str = LinkToken


class EmailChangeIn(InputModel):
    new_email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class AcceptedOut(ApiModel):
    message: str
