from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from skypanel.kit.schema import ApiModel, InputModel
from skypanel.operations.schemas import OperationRef

DomainStatus = Literal["pending_verification", "verified", "attached", "failed", "removing"]
CertificateState = Literal["issued", "pending", "none", "unknown"]
ServiceDomainName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=253,
        pattern=r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
    ),
]


class DnsRecord(ApiModel):
    type: Literal["TXT", "CNAME", "A"]
    name: str
    value: str


class DomainOut(ApiModel):
    id: uuid.UUID
    host: str
    path: str
    port: int
    https: bool
    primary: bool
    status: DomainStatus
    """pending_verification until the TXT record is found, verified, then attached on
    Easypanel; failed with `lastError` when it could not be verified or attached."""
    certificate: CertificateState
    """issued (Let's Encrypt), pending (https, not issued yet), none (http) or unknown
    (Easypanel did not answer)."""
    checked_at: datetime | None
    verified_at: datetime | None
    last_error: str | None
    url: str
    verification: DnsRecord | None = None
    """Until verified: the TXT record to create to prove you hold the host."""
    operation: OperationRef | None = None


class DomainCreatedOut(DomainOut):
    verification: DnsRecord
    """Create this TXT record to prove you hold the host."""
    targets: list[DnsRecord]
    """Then point the host at the service: a CNAME to its default host, or an A record."""


class PortOut(ApiModel):
    id: uuid.UUID
    published: int
    target: int | None
    protocol: str
    operation: OperationRef | None = None


class ExternalAccessIn(InputModel):
    port: int | None = Field(default=None, ge=1, le=65535)
    """A host port from the platform's range; omitted, the first free one is taken."""


class ExternalAccessOut(ApiModel):
    enabled: bool
    host: str | None
    port: int | None
    url: str | None
    """The connection string from outside (password masked unless revealed)."""
    operation: OperationRef | None = None


class ServiceDomainIn(InputModel):
    domain: ServiceDomainName | None
    """Apps get `<project>-<service>.<domain>`; point `*.<domain>` at every server. null: off."""


class ServiceDomainOut(ApiModel):
    domain: str | None
    operations: list[OperationRef]
