"""Security headers: a strict Content-Security-Policy with a per-request nonce, no framing, no
MIME sniffing, same-origin referrers, HSTS in production only; templates with nothing inline
that the policy would refuse."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.app import attach_database, create_app
from skypanel.config import Settings

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "skypanel" / "web" / "templates"


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.fixture
async def production(
    settings: Settings, engine: AsyncEngine, db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"env": "production"}))
    attach_database(app, engine, db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://skypanel.test") as http:
        yield http
        await app.state.clients.aclose()


async def test_pages_send_a_strict_policy_with_a_fresh_nonce(client: httpx.AsyncClient) -> None:
    first = await client.get("/login")
    second = await client.get("/login")
    assert first.status_code == 200
    policy = _directives(first.headers["content-security-policy"])
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{16,})'", policy["script-src"])
    assert nonce is not None
    assert policy["default-src"] == "'self'"
    assert policy["style-src"] == f"'self' 'nonce-{nonce.group(1)}'"
    assert policy["img-src"] == "'self' data: https:"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert "unsafe-inline" not in first.headers["content-security-policy"]
    assert "<style" not in first.text
    assert second.headers["content-security-policy"] != first.headers["content-security-policy"]
    assert first.headers["x-frame-options"] == "DENY"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in first.headers


async def test_api_answers_refuse_framing_and_sniffing(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/healthz"), await client.get("/api/auth/me")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"


async def test_production_sends_hsts(production: httpx.AsyncClient) -> None:
    for path in ("/login", "/healthz"):
        response = await production.get(path)
        assert response.headers["strict-transport-security"] == (
            "max-age=63072000; includeSubDomains"
        )


def test_templates_have_nothing_inline_the_policy_refuses() -> None:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        name = path.relative_to(TEMPLATES)
        found += [f"{name}: {m}" for m in re.findall(r'\sstyle="[^"]*"', text)]
        found += [f"{name}: {m}" for m in re.findall(r"\son[a-z]+=\"[^\"]*\"", text)]
        found += [f"{name}: {m}" for m in re.findall(r"\shx-on[:-][^=]*=", text)]
        found += [f"{name}: {m}" for m in re.findall(r"javascript:", text)]
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
            if "src=" not in tag and 'nonce="{{ csp_nonce() }}"' not in tag:
                found.append(f"{name}: {tag}")
    assert found == []
