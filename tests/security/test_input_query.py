"""Query strings say only what a route reads, timestamps are written as timestamps, and the
OpenAPI document states every answer a route can give (what the fuzzer in `test_fuzz.py` relies
on)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Account


async def test_an_unknown_query_parameter_is_refused_by_name(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.get("/api/activity?limt=5&cursor=", headers=alice.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "UNKNOWN_PARAMETER"
    assert error["message"] == "Unknown query parameter: 'limt'"
    assert [field["field"] for field in error["details"]["fields"]] == ["query.limt"]


async def test_declared_parameters_and_their_aliases_are_accepted(
    client: httpx.AsyncClient, admin: Account
) -> None:
    response = await client.get(
        "/api/admin/activity?organizationId=7d0e1c7e-6c2e-4a55-8f57-3c1b3f0c6a10&limit=5",
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


async def test_a_number_is_not_read_as_a_timestamp(
    client: httpx.AsyncClient, alice: Account
) -> None:
    refused = await client.get("/api/activity?since=1.97e-35", headers=alice.headers)
    assert refused.status_code == 422, refused.text
    field = refused.json()["error"]["details"]["fields"][0]
    assert field["field"] == "query.since"
    assert "2026-12-01T09:30:00Z" in field["message"]
    accepted = await client.get(
        "/api/activity?since=2026-11-01T00:00:00Z&until=2026-12-01", headers=alice.headers
    )
    assert accepted.status_code == 200, accepted.text


async def test_an_unreadable_body_is_a_documented_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BAD_REQUEST"


async def test_the_document_states_the_answers_every_route_can_give(
    client: httpx.AsyncClient,
) -> None:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            expected = (
                {"400", "413", "422", "429"} if "requestBody" in operation else {"422", "429"}
            )
            assert expected <= answers.keys(), f"{method.upper()} {path}"
            assert answers["422"]["content"]["application/json"]["schema"] == error
    assert "HTTPValidationError" not in document["components"]["schemas"]
