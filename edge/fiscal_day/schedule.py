"""When the scheduled Z report is due: the latest slot at ``at`` local time in the shop's zone, as a UTC instant."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def latest_slot(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The last instant at or before ``now`` (aware) whose local time in ``zone`` is ``at``.

    A local time the clocks skip (the spring DST gap) is taken as zoneinfo resolves it (fold 0: the
    offset before the change), so that day's Z still runs once, shortly after the gap.
    """
    local = now.astimezone(zone)
    for days in (0, 1, 2):
        day = local.date() - timedelta(days=days)
        slot = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if slot <= now:
            return slot
    raise AssertionError("a slot within two days always exists")
