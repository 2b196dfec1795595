"""Deployments over HTTP against the emulator: history, redeploy on a new tag, rollback, the git
push hook, deploys Easypanel ran on its own, build settings and logs.

The panel's clock follows the emulator's (both move only by hand), so the sync's claims and the
actions' times line up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.deployments import sync
from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.conftest import _app
from tests.support import Account, count, subscribed

EP = "test-user-s-organization"
SERVICES = f"/api/containers/projects/{EP}/services"
WEB = f"{SERVICES}/web"
NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx:1.27"}}
GITHUB = {
    "serviceName": "web",
    "source": {"type": "github", "owner": "acme", "repo": "site", "ref": "main", "path": "/"},
}


async def _settle(client: httpx.AsyncClient, easypanel: RunningEmulator) -> sync.SyncReport:
    """Let the emulated deploys end, then run the sync as the worker does every minute."""
    easypanel.controller.advance(30)
    state = _app(client).state
    return await sync.sync(state.sessions, state.clients)


async def _history(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    listed = await client.get(f"{WEB}/deployments", headers=account.headers)
    assert listed.status_code == 200, listed.text
    rows: list[dict[str, Any]] = listed.json()
    return rows


def _brief(rows: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
    return [(r["trigger"], r["image"], r["status"]) for r in rows]


async def _app_of(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    account: Account,
    body: dict[str, Any],
) -> None:
    await subscribed(client, db, account)
    created = await client.post(f"{SERVICES}/app", headers=account.headers, json=body)
    assert created.status_code == 202, created.text


@pytest.mark.usefixtures("shared_time")
async def test_redeploy_on_a_new_tag_then_roll_back(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, NGINX)
    await _settle(client, easypanel)
    [created] = await _history(client, alice)

    tagged = await client.post(
        f"{WEB}/deployments", headers=alice.headers, json={"image": "nginx:1.28"}
    )
    assert tagged.status_code == 202, tagged.text
    on_new_tag = easypanel.controller.service(EP, "web")
    await _settle(client, easypanel)
    rolled = await client.post(f"{WEB}/deployments/{created['id']}/rollback", headers=alice.headers)
    assert rolled.status_code == 202, rolled.text
    rolled_back = easypanel.controller.service(EP, "web")
    report = await _settle(client, easypanel)
    history = await _history(client, alice)
    service = (await client.get(WEB, headers=alice.headers)).json()

    assert (tagged.json()["trigger"], tagged.json()["status"]) == ("image", "pending")
    assert on_new_tag is not None
    assert on_new_tag["source"]["image"] == "nginx:1.28"
    assert rolled_back is not None
    assert rolled_back["source"]["image"] == "nginx:1.27"
    assert [str(x) for x in report.finished] == [rolled.json()["id"]]
    assert _brief(history) == [
        ("rollback", "nginx:1.27", "done"),
        ("image", "nginx:1.28", "done"),
        ("create", "nginx:1.27", "done"),
    ]
    assert [r["actorUserId"] for r in history] == [str(alice.user_id)] * 3
    assert all(r["easypanelActionId"] and r["finishedAt"] for r in history)
    assert len({r["easypanelActionId"] for r in history}) == 3
    assert service["configuration"]["source"]["image"] == "nginx:1.27"
    assert service["status"] == "running"


@pytest.mark.usefixtures("shared_time")
async def test_the_log_is_read_live_while_the_deploy_runs_and_kept_after(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(
        client, db, alice, {**NGINX, "env": {"API_TOKEN": "tok-sekret-123"}, "secretKeys": []}
    )
    await _settle(client, easypanel)
    started = await client.post(
        f"{WEB}/deployments", headers=alice.headers, json={"image": "nginx:1.28"}
    )
    deployment = started.json()["id"]

    running = await client.get(f"{WEB}/deployments/{deployment}/log", headers=alice.headers)
    await _settle(client, easypanel)
    kept = await client.get(f"{WEB}/deployments/{deployment}/log", headers=alice.headers)

    assert running.status_code == 200, running.text
    assert running.json()["live"] is True
    assert running.json()["status"] == "running"
    assert "Pulling nginx:1.28" in running.json()["log"]
    assert "Done." not in running.json()["log"]
    assert kept.json()["live"] is False
    assert kept.json()["status"] == "done"
    assert kept.json()["log"].startswith(f"Deploying {EP}_web\nPulling nginx:1.28\n")
    assert kept.json()["log"].endswith("Service updated.\nDone.\n")


async def test_reading_the_log_of_a_deploy_that_just_ended_records_its_end(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, NGINX)
    await _settle(client, easypanel)
    started = await client.post(f"{WEB}/deployments", headers=alice.headers)
    deployment = started.json()["id"]
    easypanel.controller.advance(30)  # the deploy ended on Easypanel; no sync has run since

    read = await client.get(f"{WEB}/deployments/{deployment}/log", headers=alice.headers)
    history = await _history(client, alice)

    assert (read.json()["live"], read.json()["status"]) == (False, "done")
    assert read.json()["log"].endswith("Done.\n")
    assert [(r["trigger"], r["status"]) for r in history] == [
        ("redeploy", "done"),
        ("create", "done"),
    ]


@pytest.mark.usefixtures("shared_time")
async def test_a_variables_change_is_a_deployment_and_ends_running(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, NGINX)
    await _settle(client, easypanel)

    changed = await client.put(f"{WEB}/env", headers=alice.headers, json={"env": {"A": "1"}})
    assert changed.status_code == 202, changed.text
    await _settle(client, easypanel)

    assert _brief(await _history(client, alice)) == [
        ("env", "nginx:1.27", "done"),
        ("create", "nginx:1.27", "done"),
    ]
    assert await count(db, "container_services", service_name="web", status="running") == 1


@pytest.mark.usefixtures("shared_time")
async def test_a_git_push_to_the_deploy_hook_deploys_the_app(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, GITHUB)
    await _settle(client, easypanel)
    made = await client.post(f"{WEB}/deploy-hook", headers=alice.headers)
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    settings = _app(client).state.settings
    assert url.startswith(f"{settings.public_url}/api/hooks/deploy/")
    assert easypanel.base_url not in url
    before = len(easypanel.controller.requests("services.app.deployService"))

    pushed = await client.post(url.removeprefix(settings.public_url))
    await _settle(client, easypanel)
    rotated = await client.post(f"{WEB}/deploy-hook", headers=alice.headers)
    stale = await client.post(url.removeprefix(settings.public_url))
    history = await _history(client, alice)

    assert pushed.status_code == 202, pushed.text
    assert len(easypanel.controller.requests("services.app.deployService")) == before + 1
    assert [(r["trigger"], r["status"], r["actorUserId"]) for r in history] == [
        ("git_push", "done", None),
        ("create", "done", str(alice.user_id)),
    ]
    assert history[0]["id"] == pushed.json()["deploymentId"]
    assert rotated.json()["url"] != url
    assert stale.status_code == 404
    assert stale.json()["error"]["code"] == "DEPLOY_HOOK_NOT_FOUND"


@pytest.mark.usefixtures("shared_time")
async def test_a_git_app_rolls_back_to_the_commit_an_earlier_build_ran(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, GITHUB)
    await _settle(client, easypanel)
    redeployed = await client.post(f"{WEB}/deployments", headers=alice.headers)
    assert redeployed.status_code == 202, redeployed.text
    await _settle(client, easypanel)
    second, first = await _history(client, alice)

    rolled = await client.post(f"{WEB}/deployments/{first['id']}/rollback", headers=alice.headers)
    await _settle(client, easypanel)
    history = await _history(client, alice)
    on_easypanel = easypanel.controller.service(EP, "web")

    assert len({first["commit"], second["commit"], None}) == 3  # two known, different commits
    assert rolled.status_code == 202, rolled.text
    assert [(r["trigger"], r["commit"], r["status"]) for r in history] == [
        ("rollback", first["commit"], "done"),
        ("redeploy", second["commit"], "done"),
        ("create", first["commit"], "done"),
    ]
    assert on_easypanel is not None
    assert on_easypanel["commit"]["sha"] == first["commit"]  # built at the earlier commit
    assert on_easypanel["source"]["ref"] == "main"  # and the branch is followed again
    refs = [
        r.input["ref"] for r in easypanel.controller.requests("services.app.updateSourceGithub")
    ]
    assert refs == [first["commit"], "main"]


@pytest.mark.usefixtures("shared_time")
async def test_deploys_easypanel_ran_on_a_github_push_are_imported(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, GITHUB)
    await _settle(client, easypanel)

    enabled = await client.put(f"{WEB}/auto-deploy", headers=alice.headers, json={"enabled": True})
    assert enabled.status_code == 202, enabled.text
    app = easypanel.controller.service(EP, "web")
    assert app is not None
    assert app["source"]["autoDeploy"] is True
    async with httpx.AsyncClient(base_url=easypanel.base_url) as github:
        hooked = await github.post(f"/api/deploy/{app['token']}")
    assert hooked.status_code == 200
    first = await _settle(client, easypanel)
    again = await _settle(client, easypanel)
    history = await _history(client, alice)

    assert len(first.imported) == 1
    assert again.imported == []
    assert [(r["trigger"], r["status"], r["actorUserId"]) for r in history] == [
        ("git_push", "done", None),
        ("create", "done", str(alice.user_id)),
    ]


async def test_build_settings_round_trip(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, GITHUB)
    build = {"type": "nixpacks", "startCommand": "npm start", "nixPackages": "nodejs_22"}

    put = await client.put(f"{WEB}/build", headers=alice.headers, json=build)
    got = await client.get(f"{WEB}/build", headers=alice.headers)
    railpack = await client.put(
        f"{WEB}/build", headers=alice.headers, json={"type": "railpack", "misePackages": "bun"}
    )
    on_easypanel = easypanel.controller.service(EP, "web")
    wrong = await client.put(
        f"{WEB}/build", headers=alice.headers, json={"type": "dockerfile", "startCommand": "x"}
    )

    assert put.status_code == 202, put.text
    assert got.json()["build"] == build
    assert railpack.status_code == 202, railpack.text
    assert on_easypanel is not None
    assert on_easypanel["build"] == {"type": "railpack", "misePackages": "bun"}
    assert wrong.status_code == 422
    assert "startCommand is not a setting of dockerfile builds" in wrong.text
    assert (await client.get(f"{WEB}/build", headers=alice.headers)).json()["build"] == {
        "type": "railpack",
        "misePackages": "bun",
    }


async def test_clear_refusals_and_other_organizations_see_nothing(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
    bob: Account,
) -> None:
    await _app_of(client, db, alice, GITHUB)
    [created] = await _history(client, alice)

    image = await client.post(f"{WEB}/deployments", headers=alice.headers, json={"image": "a:1"})
    rollback = await client.post(
        f"{WEB}/deployments/{created['id']}/rollback", headers=alice.headers
    )
    bad_tag = await client.post(
        f"{WEB}/deployments", headers=alice.headers, json={"image": "Not An Image"}
    )
    theirs = await client.get(f"{WEB}/deployments/{created['id']}/log", headers=bob.headers)
    bob_rollback = await client.post(
        f"/api/containers/projects/{EP}/services/web/deployments/{created['id']}/rollback",
        headers=bob.headers,
    )

    assert (image.status_code, image.json()["error"]["code"]) == (422, "IMAGE_NOT_APPLICABLE")
    assert image.json()["error"]["details"]["field"] == "image"
    assert rollback.status_code == 409
    assert rollback.json()["error"]["code"] == "ROLLBACK_NOT_POSSIBLE"
    assert bad_tag.status_code == 422
    assert theirs.status_code == 404
    assert bob_rollback.status_code == 404
    assert await count(db, "service_deployments") == 1
