"""The "Deployments" card of an app's page, as a browser uses it."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from skypanel.web import cookies
from tests.backups.test_pages import _browser
from tests.deployments.test_deployments import EP, GITHUB, NGINX, _app_of, _settle
from tests.support import Account, count

PAGE = f"/projects/{EP}/services/web"


@pytest.mark.usefixtures("shared_time")
async def test_redeploy_follow_the_live_log_and_roll_back_from_the_card(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, NGINX)
    await _settle(client, easypanel)
    token = await _browser(client, alice)

    detail = await client.get(PAGE)
    redeployed = await client.post(
        f"{PAGE}/deployments/new", data={cookies.CSRF_FIELD: token, "image": "nginx:1.28"}
    )
    card = await client.get(f"{PAGE}/deployments")
    [running] = re.findall(r'hx-get="([^"]+/log\?following=true)" hx-trigger="load"', card.text)
    live = await client.get(running)
    await _settle(client, easypanel)
    ended = await client.get(running)
    [reload] = re.findall(r'hx-get="([^"]+/deployments\?shown=[0-9a-f-]+)"', ended.text)
    reloaded = await client.get(reload)
    after = await client.get(f"{PAGE}/deployments")
    [first] = re.findall(r'data-deployment="([0-9a-f-]+)" data-trigger="create"', after.text)
    rolled = await client.post(
        f"{PAGE}/deployments/{first}/rollback", data={cookies.CSRF_FIELD: token}
    )

    assert f'hx-get="{PAGE}/deployments"' in detail.text
    assert redeployed.status_code == 303
    assert "Redeploy" in card.text
    assert 'hx-trigger="every 2s"' in live.text
    assert "Pulling nginx:1.28" in live.text
    assert 'hx-trigger="every 2s"' not in ended.text
    assert "Done." in ended.text
    # Its end reloads the card, which keeps the finished deploy's log on show.
    assert "Last deploy: done" in reloaded.text
    assert "Deploying now" not in reloaded.text
    assert rolled.status_code == 303
    app = easypanel.controller.service(EP, "web")
    assert app is not None
    assert app["source"]["image"] == "nginx:1.27"
    assert await count(db, "service_deployments", trigger="rollback", image="nginx:1.27") == 1


async def test_git_apps_get_a_hook_url_and_build_settings(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await _app_of(client, db, alice, GITHUB)
    token = await _browser(client, alice)

    made = await client.post(f"{PAGE}/deploy-hook/new", data={cookies.CSRF_FIELD: token})
    shown = await client.get(PAGE)
    saved = await client.post(
        f"{PAGE}/build/save",
        data={cookies.CSRF_FIELD: token, "type": "nixpacks", "start_command": "npm start"},
    )
    card = await client.get(f"{PAGE}/deployments")

    assert made.status_code == 303
    assert re.search(r"/api/hooks/deploy/[A-Za-z0-9_-]{40,}", shown.text)
    assert saved.status_code == 303
    assert 'value="npm start"' in card.text
    assert "New deploy hook URL" in card.text
    app = easypanel.controller.service(EP, "web")
    assert app is not None
    assert app["build"] == {"type": "nixpacks", "startCommand": "npm start"}
