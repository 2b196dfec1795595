"""What the browser tests do again and again: sign up, sign in, make an administrator."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from playwright.sync_api import Page, expect

from skypanel.demo import ensure_admin
from skypanel.emulator import RunningEmulator
from skypanel.kit.db import create_engine, create_sessionmaker, transaction
from skypanel.servers.service import save as save_server

PASSWORD = "correct horse battery staple"
T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end in a thread of its own (Playwright's loop owns this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True)
class Panel:
    url: str
    database_url: str
    easypanel: RunningEmulator


async def configure_easypanel(panel: Panel) -> None:
    """The emulator as the default Easypanel server (as the suite's `server` fixture does)."""
    engine = create_engine(panel.database_url, pool_size=1, max_overflow=0)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await save_server(
                session,
                None,
                url=panel.easypanel.base_url,
                api_key=panel.easypanel.token,
                dialect="orpc",
                result=None,
            )
    finally:
        await engine.dispose()


def unique_email(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


def register(page: Page, name: str, email: str | None = None) -> str:
    """Sign up through the registration form; returns the email. Lands on the dashboard."""
    email = email or unique_email(name.split()[0].lower())
    page.goto("/register")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name=f"{name}'s organization")).to_be_visible()
    return email


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def make_admin(panel: Panel, page: Page) -> str:
    """A platform administrator (without an organization, as `skypanel create-admin` makes one),
    signed in on the page; returns the email."""
    email = unique_email("admin")
    run(ensure_admin(panel.database_url, email, PASSWORD, "Platform Admin"))
    sign_in(page, email)
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    return email


def flash(page: Page) -> str:
    return page.locator("#flashes").inner_text()
