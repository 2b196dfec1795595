"""What a billing run did: how many renewals went each way, and the operations it queued."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class RunReport:
    charged: int = 0
    failed: int = 0
    recovered: int = 0
    suspended: int = 0
    resumed: int = 0
    operations: list[uuid.UUID] = field(default_factory=list)

    def add(self, other: RunReport) -> None:
        self.charged += other.charged
        self.failed += other.failed
        self.recovered += other.recovered
        self.suspended += other.suspended
        self.resumed += other.resumed
        self.operations += other.operations
