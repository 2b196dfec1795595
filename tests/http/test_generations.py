"""Invalidation by generation: a fill that raced a change is never served, and the rule that
decides whether a token may act is one function."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextvars import Context
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast

import pytest
from fastapi import Request
from pydantic import TypeAdapter

from skypanel.http import caching, principals
from skypanel.kit.cache import Cache
from skypanel.kit.tokens import AccessClaims
from skypanel.models import User
from tests.http.redis_doubles import real_redis_url


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    url = None if request.param == "memory" else await real_redis_url()
    cache = Cache(url, prefix=f"test-{uuid.uuid4().hex}:")
    yield cache
    if url is not None:
        await cache.drop("")
    await cache.aclose()


def _request(cache: Cache) -> Request:
    return cast(Request, SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(cache=cache))))


READ = caching.CachedRead("projects", 30.0, TypeAdapter(list[str]))


async def test_a_fill_that_raced_a_change_is_never_served(cache: Cache) -> None:
    request, org = _request(cache), uuid.uuid4()

    async def read_before_the_change() -> list[str]:
        # The database was read; now the change commits and invalidates, before the fill.
        await caching.drop_organizations(cache, org)
        return ["old"]

    async def read_after_it() -> list[str]:
        return ["new"]

    assert await READ.value(request, READ.for_org(org), read_before_the_change) == ["old"]
    assert await READ.value(request, READ.for_org(org), read_after_it) == ["new"]


async def test_dropping_an_organization_leaves_the_others(cache: Cache) -> None:
    request, mine, theirs = _request(cache), uuid.uuid4(), uuid.uuid4()

    async def listed() -> list[str]:
        return ["first"]

    async def relisted() -> list[str]:
        return ["second"]

    for org in (mine, theirs):
        await READ.value(request, READ.for_org(org), listed)
    await caching.drop_organizations(cache, mine)
    assert await READ.value(request, READ.for_org(mine), relisted) == ["second"]
    assert await READ.value(request, READ.for_org(theirs), relisted) == ["first"]


def _user(token_version: int = 3, is_active: bool = True) -> User:
    now = datetime.now(UTC)
    return User(
        id=uuid.uuid4(),
        email="someone@example.com",
        name="Someone",
        role="user",
        is_active=is_active,
        token_version=token_version,
        last_login_at=None,
        created_at=now,
        updated_at=now,
    )


async def test_a_caller_cached_across_a_change_is_not_trusted(cache: Cache) -> None:
    user = _user()
    seen = await principals.user_generation(cache, user.id)
    await principals.forget_users(cache, user.id)
    await principals.remember_user(cache, user, generation=seen)
    assert await principals.cached_user(cache, user.id) is None
    await principals.remember_user(cache, user)
    found = await principals.cached_user(cache, user.id)
    assert found is not None
    assert (found.id, found.token_version) == (user.id, 3)


async def test_an_aging_caller_is_read_again_by_one_request_while_the_others_use_it(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy user's requests would otherwise all miss together when the entries expire, and
    all read the database at once."""
    user = _user()
    await principals.remember_user(cache, user)
    generation = await principals.user_generation(cache, user.id)
    assert generation is not None
    keys = principals.entries(user.id, generation, None)[:1]
    raws = await cache.get_many_raw(*keys)
    assert raws[0] is not None
    assert await principals.cached_user(cache, user.id) is not None
    assert not principals.due(cache, keys, [json.loads(raws[0])])

    later = time.time() + principals.REFRESH_AFTER + 1
    monkeypatch.setattr(time, "time", lambda: later)

    async def request() -> User | None:
        """A read by a request of its own (each runs in a context of its own)."""
        read = principals.cached_user(cache, user.id)
        return await asyncio.create_task(read, context=Context())

    readers = [await request() for _ in range(3)]
    assert [reader is None for reader in readers] == [True, False, False]
    assert not await asyncio.create_task(_due(cache, keys, raws[0]), context=Context())
    await principals.remember_user(cache, user)
    assert await request() is not None


async def _due(cache: Cache, keys: tuple[str, ...], raw: bytes) -> bool:
    return principals.due(cache, keys, [json.loads(raw)])


def test_the_rule_refuses_a_missing_or_disabled_account_and_a_revoked_token() -> None:
    user = _user(token_version=3)
    claims = AccessClaims(user_id=user.id, role="user", token_version=3)
    assert principals.refusal(user, claims) is None
    assert principals.refusal(None, claims) is principals.Refusal.NO_ACCOUNT
    assert principals.refusal(_user(is_active=False), claims) is principals.Refusal.NO_ACCOUNT
    assert principals.refusal(_user(token_version=4), claims) is principals.Refusal.REVOKED
