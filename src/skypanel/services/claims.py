"""Hosts and published ports: each belongs to at most one service on the platform.

The checks here run before anything is written and give a refusal its reason; the unique indexes
of `service_domains` and `service_ports` are the rule, and `claim` turns their violation into the
same 409. A wildcard (`*.example.com`) overlaps every host under it; the unique index sees only
equal hosts, so overlaps are checked under a transaction-scoped advisory lock that every writer
of domain claims takes first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skypanel.config import get_settings
from skypanel.kit.errors import Conflict, InvalidInput
from skypanel.models import ContainerService, EasypanelServer, ServiceDomain, ServicePort
from skypanel.platform.service import PortRange, get_setting

_DOMAIN_LOCK = 0x5350_444F_4D41_494E  # "SPDOMAIN", shared by every domain claim
MAX_HOST = 253


class ServiceExists(Conflict):
    code = "SERVICE_EXISTS"


class DomainTaken(Conflict):
    code = "DOMAIN_TAKEN"


class DomainReserved(InvalidInput):
    code = "DOMAIN_RESERVED"


class PortTaken(Conflict):
    code = "PORT_TAKEN"


class PortNotAllowed(InvalidInput):
    code = "PORT_NOT_ALLOWED"


@dataclass(frozen=True)
class Port:
    port: int
    protocol: str


def normalise_host(host: str, *, wildcard: bool = False, field: str = "domains") -> str:
    """Lowercase ASCII (IDNA), no trailing dot; `*.example.com` for a wildcard."""
    name = host.strip().rstrip(".").lower()
    if name.startswith("*."):
        name, wildcard = name[2:], True
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidInput(f"{host} is not a valid host name", field=field) from exc
    if not ascii_name or "*" in ascii_name or len(ascii_name) > MAX_HOST - 2:
        raise InvalidInput(f"{host} is not a valid host name", field=field)
    return f"*.{ascii_name}" if wildcard else ascii_name


def as_easypanel(host: str) -> dict[str, object]:
    """How Easypanel takes a normalised claim: the host, and its wildcard flag."""
    if host.startswith("*."):
        return {"host": host[2:], "wildcard": True}
    return {"host": host}


def _base(host: str) -> str:
    return host[2:] if host.startswith("*.") else host


def _under(name: str, parent: str) -> bool:
    return name.endswith(f".{parent}")


def overlaps(a: str, b: str) -> bool:
    """Whether two claims could route the same request."""
    if a == b:
        return True
    wild_a, wild_b = a.startswith("*."), b.startswith("*.")
    base_a, base_b = _base(a), _base(b)
    if wild_a and wild_b:
        return _under(base_a, base_b) or _under(base_b, base_a)
    if wild_a:
        return _under(base_b, base_a)
    if wild_b:
        return _under(base_a, base_b)
    return False


def _covering(host: str) -> list[str]:
    """The exact host and every wildcard claim that would cover it or that it would cover."""
    labels = _base(host).split(".")
    wildcards = [f"*.{'.'.join(labels[i:])}" for i in range(1, len(labels))]
    return [host, _base(host), f"*.{_base(host)}", *wildcards]


def _host_of(url: str) -> str | None:
    found = urlsplit(url if "//" in url else f"//{url}").hostname
    return found.rstrip(".").lower() if found else None


async def _reserved(session: AsyncSession) -> list[str]:
    """Claims nobody may overlap: the panel's host, each server's host, the admin's suffixes and
    the service domain (its hosts are Easypanel's default hosts of every tenant's apps)."""
    hosts = [_host_of(get_settings().public_url)]
    hosts += [_host_of(url) for url in await session.scalars(select(EasypanelServer.api_url))]
    reserved = [normalise_host(h) for h in hosts if h]
    suffixes = list(await get_setting(session, "reserved_domain_suffixes"))
    suffixes += [found] if (found := await get_setting(session, "service_domain")) else []
    for suffix in suffixes:
        name = normalise_host(suffix)
        reserved += [_base(name), f"*.{_base(name)}"]
    return reserved


async def check_domains(
    session: AsyncSession, hosts: Sequence[str], *, field: str = "domains"
) -> list[str]:
    """The hosts normalised, refused when reserved, repeated, or overlapping another service's
    (`field` names the input in the refusal). Takes the domain lock, held until the
    transaction ends."""
    if not hosts:
        return []
    wanted = list(hosts)
    for i, host in enumerate(wanted):
        for other in wanted[:i]:
            if overlaps(host, other):
                raise DomainTaken(
                    f"{host} is given twice (it overlaps {other})", field=field, host=host
                )
    reserved_claims = await _reserved(session)
    for host in wanted:
        for reserved in reserved_claims:
            if overlaps(host, reserved):
                raise DomainReserved(f"{host} is reserved for the platform", field=field, host=host)
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DOMAIN_LOCK})
    for host in wanted:
        conditions = [ServiceDomain.host.in_(_covering(host))]
        if host.startswith("*."):
            pattern = "%." + _base(host).replace("\\", "\\\\").replace("%", r"\%").replace(
                "_", r"\_"
            )
            conditions.append(func.ltrim(ServiceDomain.host, "*.").like(pattern, escape="\\"))
        found = await session.scalars(select(ServiceDomain.host).where(or_(*conditions)))
        if any(overlaps(host, taken) for taken in found):
            raise DomainTaken(
                f"{host} is already served by another service", field=field, host=host
            )
    return wanted


async def check_ports(
    session: AsyncSession, server_id: uuid.UUID, ports: Iterable[Port]
) -> list[Port]:
    """The ports, refused outside the admin's range or when a service on the server holds one."""
    allowed = PortRange.model_validate(await get_setting(session, "published_port_range"))
    wanted: list[Port] = []
    for port in ports:
        if not allowed.start <= port.port <= allowed.end:
            raise PortNotAllowed(
                f"Published ports must be between {allowed.start} and {allowed.end}",
                field="ports",
                port=port.port,
                range={"start": allowed.start, "end": allowed.end},
            )
        if port in wanted:
            raise PortTaken(f"Port {port.port}/{port.protocol} is given twice", field="ports")
        wanted.append(port)
    for port in wanted:
        taken = await session.scalar(
            select(ServicePort.id).where(
                ServicePort.server_id == server_id,
                ServicePort.port == port.port,
                ServicePort.protocol == port.protocol,
            )
        )
        if taken is not None:
            raise PortTaken(
                f"Port {port.port}/{port.protocol} is already published by another service",
                field="ports",
                port=port.port,
            )
    return wanted


async def first_free_port(session: AsyncSession, server_id: uuid.UUID, protocol: str) -> int:
    """The lowest port of the admin's range no service on the server holds."""
    allowed = PortRange.model_validate(await get_setting(session, "published_port_range"))
    taken = set(
        await session.scalars(
            select(ServicePort.port).where(
                ServicePort.server_id == server_id,
                ServicePort.protocol == protocol,
                ServicePort.port.between(allowed.start, allowed.end),
            )
        )
    )
    for port in range(allowed.start, allowed.end + 1):
        if port not in taken:
            return port
    raise PortTaken(
        f"Every port between {allowed.start} and {allowed.end} is taken on this server",
        field="port",
    )


def add_claims(
    session: AsyncSession,
    service: ContainerService,
    server_id: uuid.UUID,
    hosts: Sequence[str],
    ports: Sequence[Port],
) -> None:
    session.add_all(ServiceDomain(service_id=service.id, host=host) for host in hosts)
    session.add_all(
        ServicePort(service_id=service.id, server_id=server_id, port=p.port, protocol=p.protocol)
        for p in ports
    )


async def flush_claims(session: AsyncSession) -> None:
    """Write what is pending; a claim another transaction won meanwhile is the same refusal the
    checks give (the request then rolls back as a whole)."""
    try:
        await session.flush()
    except IntegrityError as exc:
        constraint = getattr(exc.orig, "__cause__", None)
        name = getattr(constraint, "constraint_name", None) or str(exc)
        if "uq_service_domains_host" in name:
            raise DomainTaken(
                "A domain is already served by another service", field="domains"
            ) from exc
        if "uq_service_ports_server_id_port_protocol" in name:
            raise PortTaken(
                "A port is already published by another service", field="ports"
            ) from exc
        if "uq_container_services_" in name:
            raise ServiceExists(
                "A service with this name already exists on Easypanel", field="serviceName"
            ) from exc
        raise
