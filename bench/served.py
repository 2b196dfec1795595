"""`python -m bench.served TARGET PORT WORKERS [--factory]`: the ASGI app TARGET on loopback
under `skypanel serve`'s own uvicorn options (`skypanel.cli.SERVER_OPTIONS`), so the panel and the
bare ceiling are measured under the same server."""

from __future__ import annotations

import sys

import uvicorn

from bench.load import ROOT
from skypanel.cli import SERVER_OPTIONS


def main(argv: list[str]) -> None:
    target, port, workers, *flags = argv
    uvicorn.run(
        target,
        factory="--factory" in flags,
        app_dir=str(ROOT),
        host="127.0.0.1",
        port=int(port),
        workers=int(workers),
        log_level="warning",
        **SERVER_OPTIONS,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
