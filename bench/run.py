"""`make bench`: every benchmark, one table each (`--quick` for the reduced run CI makes)."""

from __future__ import annotations

import asyncio
import sys

from bench import admin, api, billing, reconcile, scaling
from bench.support import table


def main(argv: list[str]) -> None:
    quick = ["--quick"] if "--quick" in argv else []
    print(table("Billing throughput", asyncio.run(billing.main(billing.arguments(quick)))))
    print()
    print(table("API throughput and Easypanel calls", asyncio.run(api.main(api.arguments(quick)))))
    print()
    print(table("Scaling", asyncio.run(scaling.main(scaling.arguments(quick)))))
    print()
    print(table("Admin lists", asyncio.run(admin.main(admin.arguments(quick)))))
    print()
    print(table("Reconciliation", asyncio.run(reconcile.main(reconcile.arguments(quick)))))


if __name__ == "__main__":
    main(sys.argv[1:])
