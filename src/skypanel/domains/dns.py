"""Proving a customer holds a host: the TXT record `_skypanel-challenge.<host>` holds a token.

The resolver is the system's, or the nameservers of `SKYPANEL_DNS_NAMESERVERS` (`ip[:port]`,
comma-separated), with explicit timeouts: a lookup never waits more than a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dns.asyncresolver
    import dns.nameserver

CHALLENGE = "_skypanel-challenge"
TIMEOUT_SECONDS = 2.0
LIFETIME_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Check:
    found: bool
    reason: str | None = None


def challenge_name(host: str) -> str:
    return f"{CHALLENGE}.{host}"


def _nameserver(entry: str) -> dns.nameserver.Do53Nameserver:
    import dns.nameserver

    address, port = entry, 53
    if entry.startswith("["):
        address, _, rest = entry[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif entry.count(":") == 1:
        address, _, number = entry.partition(":")
        port = int(number)
    return dns.nameserver.Do53Nameserver(address, port)


def resolver(nameservers: str) -> dns.asyncresolver.Resolver:
    """dnspython is imported here, on the first lookup: the web process starts without it (most
    never verify a domain), and a broken install still fails the domain tests."""
    import dns.asyncresolver

    entries = [entry.strip() for entry in nameservers.split(",") if entry.strip()]
    found = dns.asyncresolver.Resolver(configure=not entries)
    if entries:
        found.nameservers = [_nameserver(entry) for entry in entries]
    found.timeout = TIMEOUT_SECONDS
    found.lifetime = LIFETIME_SECONDS
    return found


async def check_txt(nameservers: str, host: str, token: str) -> Check:
    """Whether the challenge record of `host` holds `token`, and if not, why in plain words."""
    import dns.exception
    import dns.resolver

    name = challenge_name(host)
    try:
        answer = await resolver(nameservers).resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return Check(False, f"No TXT record found at {name}")
    except dns.exception.Timeout:
        return Check(False, f"DNS did not answer for {name} in time")
    except dns.exception.DNSException as exc:
        return Check(False, f"DNS lookup of {name} failed: {type(exc).__name__}")
    values = {b"".join(record.strings).decode(errors="replace") for record in answer}
    if token in values:
        return Check(True)
    return Check(False, f"The TXT record at {name} does not hold the expected value")
