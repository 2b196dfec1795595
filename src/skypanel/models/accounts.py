from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import Base, Timestamps, UUIDPrimaryKey


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'user')", name="role"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        Index("ix_users_newest", "created_at", "id"),
        Index("ix_users_email_match", text('email COLLATE "C"'), "id"),
        Index(
            "ix_users_name_match",
            text('lower(name) COLLATE "C"'),
            "id",
            postgresql_include=["email"],
        ),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str]
    role: Mapped[str] = mapped_column(String(16), server_default="user")
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    token_version: Mapped[int] = mapped_column(server_default=text("0"))
    last_login_at: Mapped[datetime | None]
    email_verified_at: Mapped[datetime | None]
    """When the owner proved the address (a link followed); until then no payments or deploys."""


class SignInFailure(Base):
    """Failed sign-ins to one account from one address. Only that address is locked out, for
    longer each time, so someone who knows an email cannot lock its owner out."""

    __tablename__ = "sign_in_failures"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(server_default=text("0"))
    lockouts: Mapped[int] = mapped_column(server_default=text("0"))
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())


class RefreshToken(UUIDPrimaryKey, Base):
    """A rotating refresh token, stored as its SHA-256; one family per login."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index(None, "user_id", "revoked_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    replaced_by_id: Mapped[uuid.UUID | None]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())


TOKEN_PURPOSES = ("password_reset", "email_verification", "email_change")


class AccountToken(UUIDPrimaryKey, Base):
    """A link sent by email (reset a password, confirm an address), stored as its SHA-256; it
    works once (`used_at`) and until `expires_at`. `new_email` is the address an email change
    moves to."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('password_reset', 'email_verification', 'email_change')", name="purpose"
        ),
        CheckConstraint("(purpose = 'email_change') = (new_email IS NOT NULL)", name="new_email"),
        Index(None, "user_id", "purpose"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(320))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
