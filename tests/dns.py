"""A tiny authoritative DNS server on loopback UDP, for tests of DNS verification.

`records` maps (name, type) to the values to answer, e.g. ``{("_x.example.com", "TXT"):
["token"]}``; change it during the test and the next query sees the change. Unknown names
answer NXDOMAIN.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset


@dataclass
class DnsServer:
    host: str
    port: int
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    queries: list[tuple[str, str]] = field(default_factory=list)

    @property
    def nameservers(self) -> str:
        """The value of `SKYPANEL_DNS_NAMESERVERS` that points at this server."""
        return f"{self.host}:{self.port}"

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, kind))
        values = self.records.get((name, kind))
        if values is None:
            if not any(known == name for known, _ in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        texts = [f'"{v}"' if kind == "TXT" else v for v in values]
        response.answer.append(
            dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, question.rdtype, texts)
        )
        return response.to_wire()


@contextmanager
def dns_server() -> Iterator[DnsServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    server = DnsServer("127.0.0.1", sock.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            sock.sendto(server.answer(wire), peer)

    thread = threading.Thread(target=serve, name="test-dns", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()
