from __future__ import annotations

import pytest

from tests.http.redis_doubles import real_redis_url


@pytest.fixture
async def redis_url() -> str:
    return await real_redis_url()
