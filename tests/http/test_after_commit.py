"""What happens after a commit happens whoever commits: a worker's operation result drops the
cached reads, a password changed in the browser ends the API tokens at once, and a request hands
its operations to the workers instead of waiting for Easypanel."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skypanel.app import attach_database, create_app
from skypanel.config import Settings, get_settings
from skypanel.emulator import RunningEmulator
from skypanel.kit import clock
from skypanel.models import EasypanelServer
from skypanel.web import cookies
from skypanel.worker.run import open_job_queue
from skypanel.worker.tasks import defer_delivery
from tests.conftest import runner_of
from tests.support import (
    PASSWORD,
    Account,
    clock_at,
    configure_server,
    credit,
    make_plan,
    register,
    subscribed,
)

PROJECTS = "/api/containers/projects"
NGINX = {"serviceName": "web", "source": {"type": "image", "image": "nginx"}}


async def test_an_operation_delivered_later_drops_the_cached_project_list(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice)
    [project] = (await client.get(PROJECTS, headers=alice.headers)).json()
    easypanel.controller.fail("services.app.createService", times=1, status=503)
    services = f"{PROJECTS}/{project['projectName']}/services"
    deployed = await client.post(f"{services}/app", headers=alice.headers, json=NGINX)
    assert deployed.status_code == 202
    cached = (await client.get(PROJECTS, headers=alice.headers)).json()
    assert cached[0]["servicesByStatus"] == {"creating": 1}

    later = clock.now() + timedelta(hours=1)
    with clock_at(lambda: later):
        assert await runner_of(client).run_due() == 1
    fresh = (await client.get(PROJECTS, headers=alice.headers)).json()
    assert fresh[0]["servicesByStatus"] == {"deploying": 1}


async def test_a_password_changed_in_the_browser_ends_the_api_tokens_at_once(
    client: httpx.AsyncClient, alice: Account
) -> None:
    settings = get_settings()
    assert (await client.get("/api/auth/me", headers=alice.headers)).status_code == 200
    await client.get("/login")
    token = cookies.csrf_token(settings, client.cookies[cookies.CSRF], None)
    await client.post(
        "/login", data={"email": alice.email, "password": PASSWORD, cookies.CSRF_FIELD: token}
    )
    token = cookies.csrf_token(
        settings, client.cookies[cookies.CSRF], client.cookies[cookies.SESSION]
    )
    changed = await client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "an entirely new passphrase",
            "repeat_password": "an entirely new passphrase",
            cookies.CSRF_FIELD: token,
        },
    )
    assert changed.status_code == 303, changed.text
    refused = await client.get("/api/auth/me", headers=alice.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "TOKEN_REVOKED")


async def test_a_request_hands_its_operation_to_the_workers_and_answers_at_once(
    settings: Settings,
    engine: AsyncEngine,
    committed: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
) -> None:
    """No worker runs here: the deploy is answered, recorded and queued, and nothing has reached
    Easypanel (a served panel never waits for a build)."""
    easypanel.controller.reset()
    await configure_server(committed, easypanel.base_url, easypanel.token)
    app = create_app(settings)
    async with open_job_queue(settings):
        attach_database(app, engine, committed, defer_delivery)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://skypanel.test") as http:
            account = await register(http)
            await credit(committed, account.organization_id, 10_000)
            plan = await make_plan(committed)
            subscribed = await http.post(
                "/api/containers/subscription",
                headers=account.headers,
                json={"planId": str(plan)},
            )
            assert subscribed.status_code == 201
            [project] = (await http.get(PROJECTS, headers=account.headers)).json()
            deployed = await http.post(
                f"{PROJECTS}/{project['projectName']}/services/app",
                headers=account.headers,
                json=NGINX,
            )
        await app.state.clients.aclose()
    assert deployed.status_code == 202
    assert deployed.json()["operation"]["status"] == "pending"
    assert easypanel.controller.requests("services.app.createService") == []
    async with committed() as session:
        queued = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE '%deliver'"
                " AND status = 'todo' AND args::text LIKE :operation"
            ),
            {"operation": f"%{deployed.json()['operation']['id']}%"},
        )
    assert queued == 1
