from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from skypanel.kit import clock
from skypanel.models.base import Base, Timestamps, UUIDPrimaryKey

ROLES = ("owner", "admin", "member")


class Organization(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'", name="slug"),
        Index("ix_organizations_newest", "created_at", "id"),
        Index("ix_organizations_name_match", text('lower(name) COLLATE "C"'), "id"),
        Index(
            "ix_organizations_slug_match",
            text('slug COLLATE "C"'),
            "id",
            postgresql_include=["name"],
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    personal: Mapped[bool] = mapped_column(server_default=text("false"))


class Membership(UUIDPrimaryKey, Base):
    __tablename__ = "organization_members"
    __table_args__ = (
        UniqueConstraint("organization_id", "user_id"),
        CheckConstraint("role IN ('owner', 'admin', 'member')", name="role"),
        Index(
            "uq_organization_members_one_owner",
            "organization_id",
            unique=True,
            postgresql_where=text("role = 'owner'"),
        ),
        Index(None, "user_id", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=clock.now, server_default=func.now())
