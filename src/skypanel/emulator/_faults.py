"""Fault injection and the journal of received requests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

Envelope = Literal["dialect", "orpc", "trpc", "bare", "text"]


@dataclass
class FailRule:
    """Fail `procedure` ("*" for any) the next `times` calls with this status and envelope.

    `after_effect` runs the procedure first, as if the server acted and the answer was lost.
    """

    procedure: str = "*"
    times: int = 1
    status: int = 500
    envelope: Envelope = "dialect"
    message: str = "Injected failure"
    code: str | None = None
    zod_errors: Any = None
    after_effect: bool = False
    retry_after: float | None = None


@dataclass
class HangRule:
    """Hold the next `times` calls of `procedure` for `seconds` (wall time) before failing them."""

    procedure: str = "*"
    times: int = 1
    seconds: float = 10.0


@dataclass
class Faults:
    latency: float = 0.0
    failure_rate: float = 0.0
    failure_status: int = 500
    rules: list[FailRule] = field(default_factory=list)
    hangs: list[HangRule] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def take_rule(self, procedure: str, *, after_effect: bool) -> FailRule | None:
        for rule in self.rules:
            matches = rule.procedure in ("*", procedure) and rule.after_effect == after_effect
            if rule.times > 0 and matches:
                rule.times -= 1
                return rule
        return None

    def take_hang(self, procedure: str) -> HangRule | None:
        for rule in self.hangs:
            if rule.times > 0 and rule.procedure in ("*", procedure):
                rule.times -= 1
                return rule
        return None

    def random_failure(self) -> FailRule | None:
        if self.failure_rate and self._random.random() < self.failure_rate:
            return FailRule(status=self.failure_status, message="Random injected failure")
        return None


@dataclass
class RecordedRequest:
    """One RPC request as the emulator received it: `input` is the value under ``json``."""

    procedure: str
    dialect: str
    method: str
    input: Any
    at: float
    status: int | None = None
