"""One `call(procedure, input)` over both wire dialects, with detection, retries and observation.

oRPC (Easypanel >= 2.31): ``POST /api/rpc/a/b/c`` body ``{"json": input}``, payload under ``json``.
tRPC (<= 2.30): queries ``GET /api/trpc/a.b.c?input={"json": ...}``, mutations ``POST`` with the
same body, payload under ``result.data.json``. Detection probes ``auth.getUser`` once: anything but
404 on ``/api/rpc`` means oRPC, else tRPC; the result is kept for the life of the client.

A body is read into bytes of our own, never into the response: httpx's response and its stream
refer to each other, so a body kept there lives until the garbage collector's next full pass.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
import structlog

from skypanel.easypanel._procedures import LONG_RUNNING, Dialect, is_query, orpc_path, trpc_path
from skypanel.easypanel._stream import Malformed, Visit, read_lists
from skypanel.easypanel.errors import (
    EasypanelApiError,
    EasypanelError,
    EasypanelProcedureNotFound,
    EasypanelRateLimited,
    EasypanelUnavailable,
    error_from_response,
)
from skypanel.easypanel.metrics import observe_call
from skypanel.easypanel.options import CallRecord, RetryPolicy, Timeouts
from skypanel.easypanel.redaction import AUDITED_ITEMS, Abridged, redact
from skypanel.kit import clock

CallHook = Callable[[CallRecord], Awaitable[None] | None]
DialectSetting = Literal["auto", "orpc", "trpc"]
PROBE_PROCEDURE = "auth.getUser"
V = TypeVar("V", bound=Visit)
PAYLOAD_PATH: dict[Dialect, tuple[str, ...]] = {
    "orpc": ("json",),
    "trpc": ("result", "data", "json"),
}
"""Where each dialect puts the payload of a successful answer."""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: Any
    retry_after: float | None


@dataclass(slots=True)
class _Progress:
    dialect: Dialect | None = None
    attempts: int = 0
    status: int | None = None


class Transport:
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
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._dialect: Dialect | None = None if dialect == "auto" else dialect
        self._timeouts = timeouts or Timeouts()
        self._retries = retries or RetryPolicy()
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=self._timeouts.for_call(False))
        self._on_call = on_call
        self._detect_lock = asyncio.Lock()

    @property
    def dialect(self) -> Dialect | None:
        """The pinned or detected dialect; None until detection has run."""
        return self._dialect

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def detect(self) -> Dialect:
        if self._dialect is not None:
            return self._dialect
        async with self._detect_lock:
            if self._dialect is None:
                if (await self._send("orpc", PROBE_PROCEDURE, None)).status != 404:
                    self._dialect = "orpc"
                elif (await self._send("trpc", PROBE_PROCEDURE, None)).status != 404:
                    self._dialect = "trpc"
                else:
                    raise EasypanelProcedureNotFound(
                        "Neither /api/rpc nor /api/trpc answers: is this an Easypanel server?",
                        procedure=PROBE_PROCEDURE,
                    )
            return self._dialect

    async def call(
        self, procedure: str, payload: Any = None, *, retries: RetryPolicy | None = None
    ) -> Any:
        """Send one procedure call and return its payload (None for void procedures)."""

        async def attempt(dialect: Dialect, progress: _Progress) -> _Answer:
            answer = await self._send(dialect, procedure, payload)
            progress.status = answer.status
            if not _succeeded(answer):
                return answer
            return replace(answer, body=_unwrap(dialect, procedure, answer.body))

        return await self._observed(procedure, payload, retries, attempt, _abridged)

    async def call_lists(
        self, procedure: str, lists: Collection[str], start: Callable[[], V], payload: Any = None
    ) -> V:
        """Send one procedure call whose payload is an object of big lists (a server's listing)
        and hand their elements to a visitor as they arrive; the payload is never held whole.
        Each attempt takes a fresh visitor from `start` (one cut off midway is retried from the
        beginning, as `call` would); the visitor of the attempt that succeeded is returned. The
        audit sees the lists abridged, as `call`'s."""
        visitors: list[V] = []

        async def attempt(dialect: Dialect, progress: _Progress) -> _Answer:
            visitor = start()
            visitors.append(visitor)
            return await self._stream(dialect, procedure, payload, lists, visitor, progress)

        await self._observed(procedure, payload, None, attempt, lambda abridged: abridged)
        return visitors[-1]

    async def _observed(
        self,
        procedure: str,
        payload: Any,
        retries: RetryPolicy | None,
        attempt: Callable[[Dialect, _Progress], Awaitable[_Answer]],
        audited: Callable[[Any], Any],
    ) -> Any:
        """The successful answer's body (`attempt` gives it unwrapped, and records the answer's
        status as soon as it has one: an answer that fails to unwrap or is cut off midway is
        audited with it), retried, measured, logged and audited (`audited` gives the copy to
        record)."""
        started_at = clock.now()
        start = time.perf_counter()
        progress = _Progress(dialect=self._dialect)
        try:
            result = await self._call_with_retries(
                procedure, progress, retries or self._retries, attempt
            )
        except EasypanelError as exc:
            await self._finish(procedure, payload, progress, start, started_at, None, exc)
            raise
        await self._finish(procedure, payload, progress, start, started_at, audited(result), None)
        return result

    async def _call_with_retries(
        self,
        procedure: str,
        progress: _Progress,
        policy: RetryPolicy,
        attempt: Callable[[Dialect, _Progress], Awaitable[_Answer]],
    ) -> Any:
        query = is_query(procedure)
        while True:
            progress.attempts += 1
            try:
                dialect = progress.dialect = await self.detect()
                answer = await attempt(dialect, progress)
                if _succeeded(answer):
                    return answer.body
                raise error_from_response(
                    procedure=procedure,
                    dialect=dialect,
                    http_status=answer.status,
                    body=answer.body,
                    retry_after=answer.retry_after,
                )
            except EasypanelError as exc:
                if progress.attempts >= policy.attempts or not _may_retry(exc, query):
                    raise
                retry_after = exc.details.get("retry_after")
                await asyncio.sleep(policy.delay(progress.attempts - 1, retry_after))

    async def _send(self, dialect: Dialect, procedure: str, payload: Any) -> _Answer:
        return await self._exchange(dialect, procedure, payload, _whole)

    async def _stream(
        self,
        dialect: Dialect,
        procedure: str,
        payload: Any,
        lists: Collection[str],
        visit: Visit,
        progress: _Progress,
    ) -> _Answer:
        """One attempt of `call_lists`: a successful answer's lists go to `visit` as they
        arrive, and its body is their abridged, redacted copy for the audit."""
        abridged = Abridged(lists)

        def each(name: str, item: Any) -> None:
            abridged.add(name, item)
            visit(name, item)

        async def read(response: httpx.Response) -> _Answer:
            progress.status = response.status_code
            if not 200 <= response.status_code < 300:
                return await _whole(response)
            try:
                await read_lists(response.aiter_bytes(), PAYLOAD_PATH[dialect], lists, each)
            except Malformed as exc:
                raise EasypanelApiError(
                    f"Easypanel {procedure}: unexpected answer ({exc})",
                    procedure=procedure,
                    dialect=dialect,
                ) from exc
            return _Answer(response.status_code, abridged.value(), None)

        return await self._exchange(dialect, procedure, payload, read)

    async def _exchange(
        self,
        dialect: Dialect,
        procedure: str,
        payload: Any,
        read: Callable[[httpx.Response], Awaitable[_Answer]],
    ) -> _Answer:
        """One request, its answer as `read` takes it from the response, the response closed
        after; not reaching the server, or not receiving all of its answer, is unavailable."""
        request = self._request(dialect, procedure, payload)
        try:
            response = await self._http.send(request, stream=True)
            try:
                return await read(response)
            finally:
                await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _unavailable(procedure, dialect, exc, sent=False) from exc
        except httpx.HTTPError as exc:
            raise _unavailable(procedure, dialect, exc, sent=True) from exc

    def _request(self, dialect: Dialect, procedure: str, payload: Any) -> httpx.Request:
        timeout = self._timeouts.for_call(procedure in LONG_RUNNING)
        envelope = {"json": payload}
        if dialect == "trpc" and is_query(procedure):
            return self._http.build_request(
                "GET",
                self._base + trpc_path(procedure),
                params={"input": json.dumps(envelope, separators=(",", ":"))},
                headers=self._headers,
                timeout=timeout,
            )
        path = orpc_path(procedure) if dialect == "orpc" else trpc_path(procedure)
        return self._http.build_request(
            "POST", self._base + path, json=envelope, headers=self._headers, timeout=timeout
        )

    async def _finish(
        self,
        procedure: str,
        payload: Any,
        progress: _Progress,
        start: float,
        started_at: datetime,
        response: Any,
        error: EasypanelError | None,
    ) -> None:
        elapsed = time.perf_counter() - start
        dialect = progress.dialect or "unknown"
        code = error.code if error else None
        observe_call(procedure, dialect, elapsed, code)
        fields: dict[str, Any] = {
            "procedure": procedure,
            "dialect": dialect,
            "status": progress.status,
            "elapsed_ms": round(elapsed * 1000, 1),
            "attempts": progress.attempts,
        }
        log = structlog.get_logger(__name__)
        if error is None:
            log.info("easypanel.call", **fields)
        else:
            log.warning("easypanel.call", **fields, error_code=code, error=error.message)
        if self._on_call is None:
            return
        record = CallRecord(
            procedure=procedure,
            dialect=dialect,
            started_at=started_at,
            elapsed_ms=elapsed * 1000,
            attempts=progress.attempts,
            status_code=progress.status,
            request=redact(payload, items=AUDITED_ITEMS),
            response=response,
            error_code=code,
            error_message=error.message if error else None,
        )
        try:
            outcome = self._on_call(record)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            log.exception("easypanel.on_call_failed", procedure=procedure)


def _succeeded(answer: _Answer) -> bool:
    return 200 <= answer.status < 300


def _abridged(result: Any) -> Any:
    return redact(result, items=AUDITED_ITEMS)


async def _whole(response: httpx.Response) -> _Answer:
    """The answer read whole, into bytes of our own (see the module's docstring)."""
    content = b"".join([chunk async for chunk in response.aiter_bytes()])
    return _Answer(response.status_code, _decoded(content), _retry_after(response))


def _decoded(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    return _seconds(response.headers.get("retry-after"))


def _may_retry(error: EasypanelError, query: bool) -> bool:
    """Queries are safe to repeat; mutations only when the server cannot have acted."""
    if isinstance(error, EasypanelRateLimited):
        return True
    if isinstance(error, EasypanelUnavailable):
        return query or error.details.get("sent") is False
    return False


def _unwrap(dialect: Dialect, procedure: str, body: Any) -> Any:
    if not isinstance(body, dict):
        raise EasypanelApiError(
            f"Easypanel {procedure}: the answer is not a JSON object",
            procedure=procedure,
            dialect=dialect,
        )
    if dialect == "orpc":
        return body.get("json")
    data = body.get("result", {}).get("data") if isinstance(body.get("result"), dict) else None
    return data.get("json") if isinstance(data, dict) else None


def _unavailable(
    procedure: str, dialect: Dialect, exc: httpx.HTTPError, *, sent: bool
) -> EasypanelUnavailable:
    reason = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
    return EasypanelUnavailable(
        f"Easypanel {procedure}: {reason} ({type(exc).__name__})",
        procedure=procedure,
        dialect=dialect,
        reason=reason,
        sent=sent,
    )


def _seconds(header: str | None) -> float | None:
    """A Retry-After header in seconds (the HTTP-date form is ignored)."""
    try:
        return float(header) if header else None
    except ValueError:
        return None
