"""Exponential backoff with jitter, as a gate that opens again after each failure's delay."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


def backoff_delay(failures: int, initial: float, maximum: float, jitter: float) -> float:
    """Delay after ``failures`` consecutive failures: doubling from ``initial``, capped, scaled by 0.5..1 for jitter in 0..1."""
    if failures < 1:
        return 0.0
    base = min(maximum, initial * float(1 << min(failures - 1, 32)))
    return base * (0.5 + jitter / 2)


@dataclass
class RetryGate:
    """Closed for a growing delay after each failure, open again at once after a success."""

    initial: float
    maximum: float
    random_unit: Callable[[], float] = field(default=random.random)
    failures: int = 0
    opens_at: float = 0.0

    def is_open(self, now: float) -> bool:
        return now >= self.opens_at

    def seconds_until_open(self, now: float) -> float:
        return max(0.0, self.opens_at - now)

    def fail(self, now: float) -> float:
        self.failures += 1
        delay = backoff_delay(self.failures, self.initial, self.maximum, self.random_unit())
        self.opens_at = now + delay
        return delay

    def succeed(self) -> None:
        self.failures = 0
        self.opens_at = 0.0
