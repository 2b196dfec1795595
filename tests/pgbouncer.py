"""PgBouncer in transaction mode on a loopback port, in front of the test database server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.serving import free_port


@contextmanager
def running_pgbouncer(database_url: str, *, pool_size: int = 8) -> Iterator[str]:
    """The same database reached through PgBouncer (`pool_mode = transaction`, `pool_size`
    server connections): yields its URL. Skipped where PgBouncer is not installed (CI has it)."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("PgBouncer is not installed (make test installs it)")
        pytest.skip("PgBouncer is not installed")
    target = make_url(database_url)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pgbouncer-") as folder:
        home = Path(folder)
        home.chmod(0o777)  # PgBouncer drops root privileges to `nobody`
        (home / "users.txt").write_text(f'"{target.username}" ""\n')
        (home / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={target.host} port={target.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
            f"auth_type = trust\nauth_file = {home / 'users.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {pool_size}\n"
            "max_client_conn = 500\nunix_socket_dir =\n"
            f"logfile = {home / 'pgbouncer.log'}\n"
        )
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        process = subprocess.Popen([binary, *user, str(home / "pgbouncer.ini")])
        try:
            _wait_for(port, process)
            yield target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("PgBouncer exited at start")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("PgBouncer did not start")
