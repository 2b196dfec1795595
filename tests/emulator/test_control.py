"""The control routes (same token) and the fault injection they drive."""

from __future__ import annotations

import time

import httpx
import pytest

from skypanel.emulator import RunningEmulator
from tests.emulator._support import call, send


async def test_control_needs_the_token(emulator: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.base_url) as http:
        response = await http.get("/__emulator/state")

    assert response.status_code == 401


async def test_state_reset_and_clock(http: httpx.AsyncClient, emulator: RunningEmulator) -> None:
    await call(http, emulator, "projects.createProject", {"name": "acme"})
    state = (await http.get("/__emulator/state")).json()
    before = emulator.controller.world.clock.now()
    clock = (await http.post("/__emulator/clock", json={"advance": 60})).json()
    await http.post("/__emulator/reset", json={})

    assert list(state["projects"]) == ["acme"]
    assert [u["email"] for u in state["users"].values()] == ["admin@example.com"]
    assert clock["now"] == pytest.approx(before + 60)
    assert emulator.controller.snapshot()["projects"] == {}


async def test_request_journal(http: httpx.AsyncClient, emulator: RunningEmulator) -> None:
    await call(http, emulator, "projects.createProject", {"name": "acme"})
    await send(http, emulator, "projects.createProject", {"name": "acme"})

    journal = (
        await http.get("/__emulator/requests", params={"procedure": "projects.createProject"})
    ).json()
    cleared = (await http.delete("/__emulator/requests")).json()

    assert [
        (r["procedure"], r["dialect"], r["method"], r["input"], r["status"]) for r in journal
    ] == [
        ("projects.createProject", emulator.dialect, "POST", {"name": "acme"}, 200),
        (
            "projects.createProject",
            emulator.dialect,
            "POST",
            {"name": "acme"},
            400 if emulator.dialect == "orpc" else 500,
        ),
    ]
    assert cleared == []
    assert emulator.controller.requests() == []


@pytest.mark.parametrize(
    ("envelope", "content"),
    [("bare", {"error": "down"}), ("text", "down")],
)
async def test_fail_next_calls(
    http: httpx.AsyncClient, emulator: RunningEmulator, envelope: str, content: object
) -> None:
    rule = {
        "procedure": "projects.listProjects",
        "times": 2,
        "status": 502,
        "envelope": envelope,
        "message": "down",
    }
    configured = (await http.post("/__emulator/faults", json={"fail": [rule]})).json()

    failures = [await send(http, emulator, "projects.listProjects") for _ in range(2)]
    success = await send(http, emulator, "projects.listProjects")

    assert configured["rules"][0]["times"] == 2
    assert [f.status_code for f in failures] == [502, 502]
    body = failures[0].json() if envelope == "bare" else failures[0].text
    assert body == content
    assert success.status_code == 200


async def test_fail_in_the_dialect_envelope_with_a_chosen_code(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.controller.fail("projects.listProjects", status=409, code="CONFLICT", message="Busy")

    response = await send(http, emulator, "projects.listProjects")

    assert response.status_code == 409
    if emulator.dialect == "orpc":
        assert response.json()["json"] == {
            "defined": False,
            "code": "CONFLICT",
            "status": 409,
            "message": "Busy",
            "data": {},
        }
    else:
        assert response.json()["error"]["json"]["code"] == -32009


async def test_latency(http: httpx.AsyncClient, emulator: RunningEmulator) -> None:
    await http.post("/__emulator/faults", json={"latency": 0.2})
    started = time.perf_counter()
    await send(http, emulator, "projects.listProjects")

    assert time.perf_counter() - started >= 0.2


async def test_hang_until_released(http: httpx.AsyncClient, emulator: RunningEmulator) -> None:
    await http.post(
        "/__emulator/faults", json={"hang": [{"procedure": "projects.listProjects", "seconds": 30}]}
    )

    async with httpx.AsyncClient(
        base_url=emulator.base_url, headers=http.headers, timeout=0.2
    ) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await send(impatient, emulator, "projects.listProjects")
    faults = (await http.delete("/__emulator/faults")).json()
    after = await send(http, emulator, "projects.listProjects")

    assert faults["hangs"] == []
    assert after.status_code == 200


async def test_failure_rate(http: httpx.AsyncClient, emulator: RunningEmulator) -> None:
    await http.post("/__emulator/faults", json={"failureRate": 1.0, "failureStatus": 503})
    always = [(await send(http, emulator, "projects.listProjects")).status_code for _ in range(3)]
    emulator.controller.set_failure_rate(0.5, seed=7)
    first = [(await send(http, emulator, "projects.listProjects")).status_code for _ in range(20)]
    emulator.controller.set_failure_rate(0.5, seed=7)
    second = [(await send(http, emulator, "projects.listProjects")).status_code for _ in range(20)]

    assert always == [503, 503, 503]
    assert first == second
    assert set(first) == {200, 500}


async def test_bad_fault_body(http: httpx.AsyncClient) -> None:
    response = await http.post("/__emulator/faults", json={"fail": [{"times": "often"}]})

    assert response.status_code == 400
