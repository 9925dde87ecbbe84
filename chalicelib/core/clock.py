"""The one clock of the cloud side, so tests can move time instead of sleeping."""

from __future__ import annotations

import time


def now() -> int:
    """UTC epoch seconds."""
    return int(time.time())


def now_ms() -> int:
    """UTC epoch milliseconds (sort keys that must separate receipts made in one second)."""
    return time.time_ns() // 1_000_000
