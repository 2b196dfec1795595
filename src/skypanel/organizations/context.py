from __future__ import annotations

import uuid
from dataclasses import dataclass

from skypanel.kit.errors import Forbidden
from skypanel.models import Membership, Organization, User


@dataclass(frozen=True, slots=True)
class OrgContext:
    """The organization a request acts in, and the caller's role there."""

    organization: Organization
    membership: Membership
    user: User

    @property
    def id(self) -> uuid.UUID:
        return self.organization.id

    @property
    def role(self) -> str:
        return self.membership.role

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"This needs the role {' or '.join(roles)} in the organization")
