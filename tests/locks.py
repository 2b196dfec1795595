"""A check that SkyPanel never calls Easypanel while a transaction of its holds locks.

On every request the emulator receives (before answering it), `LockWatch` asks PostgreSQL, on a
connection of its own, for the test database's sessions that are idle in a transaction with a
transaction id: those have written or locked rows (`FOR UPDATE` takes an id too) and are
waiting, most likely for the answer. Each is recorded with the procedure called and the last
query the transaction ran.

Only tests on real, separate connections (`committed`) can use it: under `db` every session
shares one outer transaction, which always looks like an offender. In a test that runs several
requests at once, the transaction listed may belong to a task other than the caller; its query
tells which.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from skypanel.emulator import EmulatorController, RecordedRequest

IDLE_WITH_LOCKS = """
SELECT pid, state, backend_xid::text, query
FROM pg_stat_activity
WHERE datname = current_database()
  AND state IN ('idle in transaction', 'idle in transaction (aborted)')
  AND backend_xid IS NOT NULL
  AND pid <> pg_backend_pid()
ORDER BY pid
"""


@dataclass(frozen=True)
class Offender:
    """A database session that held locks while Easypanel was called."""

    procedure: str
    pid: int
    state: str
    xid: str
    query: str


class LockWatch:
    """A request hook for the emulator controller; see the module docstring."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._connection = psycopg.connect(
            url.render_as_string(hide_password=False), autocommit=True
        )
        self._lock = threading.Lock()
        self.offenders: list[Offender] = []
        self.errors: list[str] = []

    def __call__(self, request: RecordedRequest) -> None:
        try:
            with self._lock:
                rows = self._connection.execute(IDLE_WITH_LOCKS).fetchall()
        except psycopg.Error as exc:  # a broken check must fail the test, not the request
            with self._lock:
                self.errors.append(f"{request.procedure}: {exc}")
            return
        with self._lock:
            self.offenders.extend(
                Offender(request.procedure, pid, state, xid, query)
                for pid, state, xid, query in rows
            )

    def problems(self) -> str:
        """What went wrong, one line per offender (empty when nothing did)."""
        with self._lock:
            lines = [
                f"Easypanel {o.procedure} was called while PostgreSQL session {o.pid} was"
                f" {o.state} holding locks (xid {o.xid}); its last query: {o.query.strip()}"
                for o in self.offenders
            ]
            lines += [f"the lock check failed during {error}" for error in self.errors]
        return "\n".join(lines)

    def close(self) -> None:
        self._connection.close()


@contextmanager
def watching(controller: EmulatorController, database_url: str) -> Iterator[LockWatch]:
    """Run a `LockWatch` on every request the emulator receives inside the block."""
    watch = LockWatch(database_url)
    remove = controller.on_request(watch)
    try:
        yield watch
    finally:
        remove()
        watch.close()
