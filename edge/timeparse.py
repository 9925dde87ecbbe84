"""Instants given on the command line: ISO 8601 or epoch seconds / milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_THRESHOLD = 10**11  # epoch seconds reach this in the year 5138; smaller numbers are seconds


def parse_instant(text: str) -> int:
    """Epoch milliseconds for ``2024-05-01``, ``2024-05-01T10:00:00Z``, ``1714557600`` or ``1714557600000``.

    ISO times without an offset are UTC. Raises ValueError.
    """
    value = text.strip()
    if value.isdigit():
        number = int(value)
        return number if number >= _MS_THRESHOLD else number * 1000
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time or epoch number: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)
