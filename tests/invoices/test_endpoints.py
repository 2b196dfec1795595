from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import httpx
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.invoices import service
from skypanel.invoices.tax import Line
from skypanel.models.invoices import BillingDocument
from tests.invoices.conftest import configure
from tests.support import Account, TickingClock, clock_at, make_admin, register

PROFILE = {
    "legalName": "Beispiel GmbH",
    "addressLine1": "Torstrasse 5",
    "postalCode": "10119",
    "city": "Berlin",
    "country": "de",
}


async def _issue(
    sessions: async_sessionmaker[AsyncSession], org: uuid.UUID, count: int
) -> list[BillingDocument]:
    issued = []
    async with sessions() as session:
        await configure(session)
        for n in range(count):
            issued.append(
                await service.issue(
                    session,
                    org,
                    kind="invoice",
                    lines=[Line(f"Plan M #{n}", 1, 1000 + n)],
                    reference=("ledger", uuid.uuid4()),
                )
            )
        await session.commit()
    return issued


async def test_list_is_paginated_newest_first_and_scoped(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    with clock_at(TickingClock(datetime(2027, 3, 1, tzinfo=UTC))):
        issued = await _issue(db, alice.organization_id, 3)
    first = await client.get("/api/invoices?limit=2", headers=alice.headers)
    assert first.status_code == 200
    assert [d["number"] for d in first.json()["items"]] == ["INV-2027-000003", "INV-2027-000002"]
    assert first.json()["items"][0]["total"] == "11.92"
    assert first.json()["items"][0]["taxRate"] == "19.00"
    cursor = first.json()["nextCursor"]
    second = await client.get(f"/api/invoices?limit=2&cursor={cursor}", headers=alice.headers)
    assert [d["number"] for d in second.json()["items"]] == ["INV-2027-000001"]
    assert second.json()["nextCursor"] is None

    one = await client.get(f"/api/invoices/{issued[0].id}", headers=alice.headers)
    assert one.status_code == 200
    assert one.json()["lines"] == [
        {
            "description": "Plan M #0",
            "quantity": 1,
            "unitPrice": "10.00",
            "net": "10.00",
            "tax": "1.90",
            "total": "11.90",
        },
    ]

    bob = await register(client, "bob@example.com")
    for url in (f"/api/invoices/{issued[0].id}", f"/api/invoices/{issued[0].id}/pdf"):
        response = await client.get(url, headers=bob.headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "DOCUMENT_NOT_FOUND"
    assert (await client.get("/api/invoices", headers=bob.headers)).json()["items"] == []


async def test_csv_export_has_a_header_and_a_row_per_document(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    issued = await _issue(db, alice.organization_id, 2)
    response = await client.get("/api/invoices.csv", headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:8] == [
        "number",
        "kind",
        "issued_at",
        "currency",
        "subtotal",
        "tax_rate",
        "tax",
        "total",
    ]
    assert sorted(row[0] for row in rows[1:]) == sorted(d.number for d in issued)
    assert {tuple(row[4:8]) for row in rows[1:]} == {
        ("10.00", "19.00", "1.90", "11.90"),
        ("10.01", "19.00", "1.90", "11.91"),
    }


async def test_pdf_shownholds_number_totals_and_tax_line(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    (document,) = await _issue(db, alice.organization_id, 1)
    response = await client.get(f"/api/invoices/{document.id}/pdf", headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    page = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert document.number in page
    assert "SkyPanel GmbH" in page
    for shown in ("Subtotal", "10.00 USD", "VAT 19.00 %", "1.90 USD"):
        assert shown in page
    assert "11.90 USD" in page


async def test_billing_profile_put_get_and_validation(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    missing = await client.get("/api/billing-profile", headers=alice.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "BILLING_PROFILE_NOT_FOUND"

    saved = await client.put(
        "/api/billing-profile",
        headers=alice.headers,
        json={**PROFILE, "vatNumber": "de 136 695 976"},
    )
    assert saved.status_code == 200, saved.text
    got = (await client.get("/api/billing-profile", headers=alice.headers)).json()
    assert (got["country"], got["vatNumber"], got["isBusiness"]) == ("DE", "DE136695976", True)

    for body, field in (
        ({**PROFILE, "vatNumber": "DE136695977"}, "vatNumber"),
        ({**PROFILE, "country": "Germany"}, "country"),
        ({key: value for key, value in PROFILE.items() if key != "city"}, "city"),
    ):
        refused = await client.put("/api/billing-profile", headers=alice.headers, json=body)
        assert refused.status_code == 422
        assert [f["field"] for f in refused.json()["error"]["details"]["fields"]] == [field]
    assert (await client.get("/api/billing-profile", headers=alice.headers)).json() == got


async def test_members_cannot_edit_the_billing_profile(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    bob = await register(client, "bob@example.com")
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO organization_members (id, organization_id, user_id, role)"
                " VALUES (:id, :org, :user, 'member')"
            ),
            {"id": uuid.uuid4(), "org": alice.organization_id, "user": bob.user_id},
        )
        await session.commit()
    refused = await client.put(
        "/api/billing-profile", headers=bob.acting_in(alice.organization_id), json=PROFILE
    )
    assert refused.status_code == 403
    missing = await client.get("/api/billing-profile", headers=alice.headers)
    assert missing.status_code == 404


async def test_admin_tax_rate_crud_refuses_non_admins(
    client: httpx.AsyncClient, db: async_sessionmaker[AsyncSession], alice: Account
) -> None:
    admin = await make_admin(client, db)
    for method, url in (
        ("GET", "/api/admin/tax-rates"),
        ("PUT", "/api/admin/tax-rates/AT"),
        ("DELETE", "/api/admin/tax-rates/AT"),
    ):
        body = {"rate": "20.00", "name": "USt"} if method == "PUT" else None
        refused = await client.request(method, url, headers=alice.headers, json=body)
        assert refused.status_code == 403
    assert (await client.get("/api/admin/tax-rates", headers=admin.headers)).json() == []

    put = await client.put(
        "/api/admin/tax-rates/at", headers=admin.headers, json={"rate": "20.00", "name": "USt"}
    )
    assert put.status_code == 200, put.text
    assert (put.json()["country"], put.json()["rate"], put.json()["name"]) == ("AT", "20.00", "USt")
    changed = await client.put(
        "/api/admin/tax-rates/AT", headers=admin.headers, json={"rate": "10.5", "name": "USt"}
    )
    assert changed.json()["rate"] == "10.50"
    bad = await client.put(
        "/api/admin/tax-rates/AT", headers=admin.headers, json={"rate": "100.01", "name": "X"}
    )
    assert bad.status_code == 422
    assert [f["field"] for f in bad.json()["error"]["details"]["fields"]] == ["rate"]
    listed = (await client.get("/api/admin/tax-rates", headers=admin.headers)).json()
    assert [(r["country"], r["rate"]) for r in listed] == [("AT", "10.50")]

    assert (
        await client.delete("/api/admin/tax-rates/AT", headers=admin.headers)
    ).status_code == 204
    again = await client.delete("/api/admin/tax-rates/AT", headers=admin.headers)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "TAX_RATE_NOT_FOUND"
