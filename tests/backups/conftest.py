from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from skypanel.emulator import RunningEmulator
from skypanel.models import EasypanelServer
from tests.backups.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server
from tests.support import Account

STORAGE = "/api/containers/admin/backups/storage"


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server) -> str:
    return s3.bucket("skypanel-backups")


@pytest.fixture
async def storage(
    client: httpx.AsyncClient,
    admin: Account,
    s3: S3Server,
    bucket: str,
    server: EasypanelServer,
    easypanel: RunningEmulator,
) -> str:
    """The moto bucket configured as the backup storage (and registered on the emulator)."""
    saved = await client.put(
        STORAGE,
        headers=admin.headers,
        json={
            "endpoint": s3.endpoint,
            "region": REGION,
            "bucket": bucket,
            "accessKeyId": ACCESS_KEY,
            "secretAccessKey": SECRET_KEY,
        },
    )
    assert saved.status_code == 200, saved.text
    return bucket
