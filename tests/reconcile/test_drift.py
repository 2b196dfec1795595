from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skypanel.easypanel import EasypanelClient
from skypanel.easypanel.schemas import AppSpec, BindMount, ImageSource, Resources
from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from skypanel.reconcile.service import reconcile
from tests.conftest import runner_of
from tests.support import Account, subscribed

EP = "test-user-s-organization"


async def test_drift_is_imported_flagged_and_reported(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    easypanel: RunningEmulator,
    server: EasypanelServer,
    alice: Account,
) -> None:
    await subscribed(client, db, alice, cpu="2", memory_gb="4", storage_gb=20, containers=5)
    services = f"/api/containers/projects/{EP}/services"
    await client.post(
        f"{services}/database",
        headers=alice.headers,
        json={"serviceName": "cache", "type": "redis"},
    )
    async with EasypanelClient(easypanel.base_url, easypanel.token) as direct:
        await direct.create_app(
            EP,
            AppSpec(
                service_name="rogue",
                source=ImageSource(image="nginx"),
                resources=Resources(
                    cpu_limit=0.5, cpu_reservation=0, memory_limit=512, memory_reservation=0
                ),
            ),
        )
        await direct.create_app(
            EP,
            AppSpec(
                service_name="escape",
                source=ImageSource(image="alpine"),
                mounts=[BindMount(host_path="/", mount_path="/host")],
            ),
        )
        await direct.destroy_database("redis", EP, "cache")
        await direct.create_project(f"{EP}-stray")

    runner = runner_of(client)
    report = await reconcile(db, runner.clients)
    await runner.run_all(report.operations)
    assert sorted(report.imported) == [f"{EP}/escape", f"{EP}/rogue"]
    assert report.stopped_unsafe == [f"{EP}/escape"]
    assert report.missing == [f"{EP}/cache"]
    assert report.unknown_projects == [f"{EP}-stray"]
    assert easypanel.controller.tasks(EP, "escape")[0] == 0

    async with db() as session:
        rows = dict(
            (
                await session.execute(text("SELECT service_name, status FROM container_services"))
            ).all()
        )
    assert rows == {"cache": "missing", "rogue": "running", "escape": "stopped"}
    usage = (await client.get("/api/containers/subscription/usage", headers=alice.headers)).json()
    cpu = next(q for q in usage["quotas"] if q["quota"] == "cpuCores")
    assert cpu["used"] >= 0.5
    again = await reconcile(db, runner.clients)
    assert (again.imported, again.stopped_unsafe, again.missing) == ([], [], [])
