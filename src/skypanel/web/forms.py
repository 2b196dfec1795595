"""Text a person types into the panel's forms, turned into what the API's input models take.

Lists are typed one item per line (`KEY=value`, `host:port`, `8080:80/udp`, `name:/path`), so the
forms work without JavaScript; the API's models then validate every item.
"""

from __future__ import annotations

from typing import Any

from skypanel.kit import envvars
from skypanel.kit.errors import InvalidInput


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def env_lines(text: str) -> dict[str, str]:
    """`KEY=value` lines (the value may hold `=`); a line without `=` is refused."""
    env: dict[str, str] = {}
    for line in lines(text):
        key, sep, value = line.partition("=")
        if not sep:
            raise InvalidInput(f"{line!r} is not KEY=value")
        env[key.strip()] = value.strip()
    return env


def env_text(env: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in env.items())


def unmask(posted: dict[str, str], current: dict[str, str]) -> dict[str, str]:
    """A value left masked keeps the value it had: the editor never saw the secret."""
    return {
        key: current[key] if value == envvars.MASK and key in current else value
        for key, value in posted.items()
    }


def domain_lines(text: str) -> list[dict[str, Any]]:
    """`host` or `host:port` (port 80 by default), always HTTPS."""
    domains = []
    for line in lines(text):
        host, _, port = line.partition(":")
        domains.append({"host": host.lower(), "port": _number(port or "80", line)})
    return domains


def port_lines(text: str) -> list[dict[str, Any]]:
    """`published:target`, optionally `/udp`."""
    ports = []
    for line in lines(text):
        pair, _, protocol = line.partition("/")
        published, sep, target = pair.partition(":")
        if not sep:
            raise InvalidInput(f"{line!r} is not published:target")
        ports.append(
            {
                "published": _number(published, line),
                "target": _number(target, line),
                "protocol": protocol or "tcp",
            }
        )
    return ports


def volume_lines(text: str) -> list[dict[str, str]]:
    """`name:/mount/path` (named volumes only)."""
    volumes = []
    for line in lines(text):
        name, sep, path = line.partition(":")
        if not sep:
            raise InvalidInput(f"{line!r} is not name:/mount/path")
        volumes.append({"type": "volume", "name": name.strip(), "mount_path": path.strip()})
    return volumes


def resources(posted: dict[str, str]) -> dict[str, str]:
    """The resource fields that were filled in (empty ones take the plan's fair share)."""
    names = ("cpu_cores", "memory_gb", "storage_gb")
    return {name: posted[name] for name in names if posted.get(name, "").strip()}


def _number(text: str, line: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(f"{line!r}: {text!r} is not a port number") from None
