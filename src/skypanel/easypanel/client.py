"""`EasypanelClient`: typed async access to one Easypanel server.

async with EasypanelClient("https://panel.example.com", token) as easypanel:
    await easypanel.create_project("acme")
    await easypanel.create_app("acme", AppSpec(service_name="web", source=ImageSource(...)))
    await easypanel.deploy_app("acme", "web")
"""

from __future__ import annotations

import time
from types import TracebackType

import httpx

from skypanel.easypanel._accounts import AccountsMixin
from skypanel.easypanel._apps import AppsMixin
from skypanel.easypanel._backups import BackupsMixin
from skypanel.easypanel._databases import DatabasesMixin
from skypanel.easypanel._deploys import DeploysMixin
from skypanel.easypanel._network import NetworkMixin
from skypanel.easypanel._observe import ObserveMixin
from skypanel.easypanel._transport import PROBE_PROCEDURE, CallHook, DialectSetting, Transport
from skypanel.easypanel.errors import EasypanelError, EasypanelUnavailable
from skypanel.easypanel.options import ConnectionResult, RetryPolicy, Timeouts
from skypanel.easypanel.schemas import User

NO_RETRIES = RetryPolicy(attempts=1)


class EasypanelClient(
    AccountsMixin,
    AppsMixin,
    BackupsMixin,
    DatabasesMixin,
    DeploysMixin,
    NetworkMixin,
    ObserveMixin,
):
    """One long-lived HTTP connection pool to one server; close it with `aclose()`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        dialect: DialectSetting = "auto",
        timeouts: Timeouts | None = None,
        retries: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        on_call: CallHook | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = Transport(
            base_url,
            token,
            dialect=dialect,
            timeouts=timeouts,
            retries=retries,
            http=http,
            on_call=on_call,
        )
        self._names = {}

    async def __aenter__(self) -> EasypanelClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def test_connection(self) -> ConnectionResult:
        """Reachable? Token accepted? Which dialect and version? One try, no retries."""
        start = time.perf_counter()
        try:
            payload = await self._transport.call(PROBE_PROCEDURE, None, retries=NO_RETRIES)
            user = User.model_validate(payload)
        except EasypanelError as exc:
            return ConnectionResult(
                reachable=not isinstance(exc, EasypanelUnavailable),
                authenticated=False,
                dialect=self.dialect,
                latency_ms=_ms_since(start),
                error_code=exc.code,
                error_message=exc.message,
                details={k: v for k, v in exc.details.items() if k != "procedure"},
            )
        except ValueError:
            return ConnectionResult(
                reachable=True,
                authenticated=False,
                dialect=self.dialect,
                latency_ms=_ms_since(start),
                error_code="EASYPANEL_API_ERROR",
                error_message="auth.getUser did not return a user",
            )
        latency = _ms_since(start)
        try:
            version = await self.server_version()
        except EasypanelError:
            version = None
        return ConnectionResult(
            reachable=True,
            authenticated=True,
            dialect=self.dialect,
            version=version,
            latency_ms=latency,
            user_email=user.email or None,
        )


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
