"""The branding logo is an `<img src>` on every page: only an https: image URL, or none."""

from __future__ import annotations

import httpx
import pytest

from tests.support import Account

URL = "/api/admin/settings/branding"


@pytest.mark.parametrize(
    "logo",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "http://cdn.example.com/logo.png",
        "//cdn.example.com/logo.png",
        "/static/logo.png",
        "https://",
        "https://cdn.example.com/logo .png",
        "logo.png",
    ],
)
async def test_logo_url_other_than_https_is_refused(
    client: httpx.AsyncClient, admin: Account, logo: str
) -> None:
    refused = await client.put(URL, headers=admin.headers, json={"value": {"logoUrl": logo}})
    assert refused.status_code == 422, refused.text
    errors = refused.json()["error"]["details"]["errors"]
    assert [(e["loc"], e["msg"]) for e in errors] == [
        (["logoUrl"], "The logo must be an https:// image URL")
    ]


@pytest.mark.parametrize(
    ("logo", "stored"), [("https://cdn.example.com/logo.png", None), ("", None), (None, None)]
)
async def test_https_or_empty_logo_is_accepted(
    client: httpx.AsyncClient, admin: Account, logo: str | None, stored: str | None
) -> None:
    saved = await client.put(URL, headers=admin.headers, json={"value": {"logoUrl": logo}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["value"]["logoUrl"] == (logo or stored)
