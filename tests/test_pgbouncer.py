"""The panel and its worker through PgBouncer in transaction mode (`SKYPANEL_DATABASE_PGBOUNCER`):
a customer subscribes and deploys (the worker, polling the job queue, provisions and deploys), and
concurrent reads and writes on few server connections all succeed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from skypanel.config import Settings
from skypanel.emulator import RunningEmulator
from skypanel.kit.db import create_engine, create_sessionmaker
from tests.payments.helpers import PASSWORD, until
from tests.pgbouncer import running_pgbouncer
from tests.serving import run, running_panel
from tests.support import credit, make_plan

PROJECT = "pooled-s-organization"


@pytest.fixture(scope="module")
def bounced(settings: Settings) -> Iterator[Settings]:
    assert settings.database_url is not None
    with running_pgbouncer(settings.database_url, pool_size=3) as url:
        yield settings.model_copy(update={"database_url": url, "database_pgbouncer": True})


async def _plan_and_credit(database_url: str, organization: uuid.UUID) -> uuid.UUID:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        sessions = create_sessionmaker(engine)
        plan = await make_plan(sessions, containers=10)
        await credit(sessions, organization, 100_000)
        return plan
    finally:
        await engine.dispose()


def test_subscribe_deploy_and_concurrent_requests_through_pgbouncer(
    settings: Settings, bounced: Settings, easypanel: RunningEmulator
) -> None:
    assert settings.database_url is not None
    with (
        running_panel(bounced, easypanel) as panel,
        httpx.Client(base_url=panel.url, timeout=30) as http,
    ):
        registered = http.post(
            "/api/auth/register",
            json={"email": "pooled@example.com", "password": PASSWORD, "name": "Pooled"},
        )
        assert registered.status_code == 201, registered.text
        body = registered.json()
        headers = {"Authorization": f"Bearer {body['accessToken']}"}
        plan = run(_plan_and_credit(settings.database_url, uuid.UUID(body["organization"]["id"])))
        subscribed = http.post(
            "/api/containers/subscription", headers=headers, json={"planId": str(plan)}
        )
        assert subscribed.status_code == 201, subscribed.text
        until(
            lambda: (
                http.get("/api/containers/subscription", headers=headers).json()[
                    "provisioningStatus"
                ]
                == "ready"
            ),
            "provisioning through the polling worker",
        )

        def deploy(index: int) -> int:
            return http.post(
                f"/api/containers/projects/{PROJECT}/services/app",
                headers=headers,
                json={"serviceName": f"web-{index}", "source": {"type": "image", "image": "nginx"}},
            ).status_code

        def read(index: int) -> int:
            path = ("/api/wallet", "/api/containers/projects", "/api/containers/subscription")
            return http.get(path[index % 3], headers=headers).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            deployed = list(pool.map(deploy, range(6)))
            read_codes = list(pool.map(read, range(90)))

        def all_running() -> bool:
            easypanel.controller.advance(5)  # the deploys the worker started finish
            listed = http.get(f"/api/containers/projects/{PROJECT}/services", headers=headers)
            return {s["status"] for s in listed.json()} == {"running"}

        until(all_running, "the six apps deployed by the worker", seconds=30)
        on_easypanel = sorted(easypanel.controller.snapshot()["services"])

    assert deployed == [202] * 6
    assert read_codes == [200] * 90
    assert on_easypanel == sorted(f"{PROJECT}/web-{i}" for i in range(6))
