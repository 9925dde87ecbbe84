"""Crash injection for tests and the chaos harness.

``EDGE_CRASH_AT=<name>`` kills the process with exit code 137 the first time the
crash point ``<name>`` is reached; ``EDGE_CRASH_AT=<name>:<n>`` on its n-th hit.
Without the variable every crash point is a no-op.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

ENV_VAR = "EDGE_CRASH_AT"
CRASH_EXIT_CODE = 137

CRASHPOINTS = (
    "after_receive",
    "after_journal_begin",
    "before_device_call",
    "during_device_call",
    "after_device_call",
    "after_journal_printed",
    "after_result_ack",
)
# Crash points of the card charge that precedes printing a card-paid job.
CHARGE_CRASHPOINTS = (
    "before_terminal_call",
    "during_terminal_call",
    "after_terminal_call",
    "after_journal_charged",
)
# Crash points of the reversal of that charge when the job then fails for good (edge/terminals/charging.py).
REVERSAL_CRASHPOINTS = (
    "before_reversal_call",
    "during_reversal_call",
    "after_reversal_call",
    "after_journal_reversed",
)
# Crash points of a sale taken at the till (edge/tillsales/): print, journal, upload, ack.
TILL_CRASHPOINTS = (
    "till_after_journal_begin",
    "till_before_device_call",
    "till_after_device_call",
    "till_after_journal_printed",
    "till_after_upload",
    "till_after_journal_uploaded",
)
_KNOWN = CRASHPOINTS + CHARGE_CRASHPOINTS + REVERSAL_CRASHPOINTS + TILL_CRASHPOINTS

_hits: Counter[str] = Counter()


def parse_crash_spec(spec: str) -> tuple[str, int]:
    """Split ``name`` or ``name:n`` into the crash point and the hit that kills; ValueError if malformed."""
    name, sep, nth = spec.partition(":")
    if name not in _KNOWN:
        raise ValueError(f"{ENV_VAR}: unknown crash point {name!r} (known: {', '.join(_KNOWN)})")
    if not sep:
        return name, 1
    if not nth.isdigit() or int(nth) < 1:
        raise ValueError(f"{ENV_VAR}: hit count must be a positive integer, got {nth!r}")
    return name, int(nth)


def crashpoint(name: str) -> None:
    """Die like a killed process (exit 137, no cleanup) if ``EDGE_CRASH_AT`` targets this point now."""
    spec = os.environ.get(ENV_VAR)
    if not spec:
        return
    target, nth = parse_crash_spec(spec)
    if target != name:
        return
    _hits[name] += 1
    if _hits[name] == nth:
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(CRASH_EXIT_CODE)
