"""The warning ledger: which device warnings are active, and which of their notifications are still owed.

The ledger is a map on the shop's profile, one entry per (device, code) while the warning lasts:
``{device, name, manufacturer, model, code, since, raised_sent, cleared_at?}``. A heartbeat compares its
warnings with the ledger (``plan``): a warning the ledger lacks is raised (``since`` = now), an active entry the
heartbeat no longer lists is cleared (``cleared_at`` = now). The store writes both conditionally, so of two
heartbeats that see the same change only one writes it. The notifications owed (``owed``) follow from the
ledger alone: a raise not yet queued, a clear not yet queued. So a crash after the ledger write and before
the queue is made good by the next heartbeat, under the same webhook-id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.contracts import Heartbeat

RAISED, CLEARED = "device.warning", "device.warning_cleared"
MAX_PER_HEARTBEAT = 16
"""Changes written, and notifications queued, by one heartbeat: what is left over waits for the next ones (a
DynamoDB expression holds at most 4 KB; 16 devices with 16 warnings each come through in 16 heartbeats)."""


def alert_key(device_id: str, code: str) -> str:
    return f"{device_id}|{code}"


@dataclass(frozen=True)
class AlertPlan:
    raised: dict[str, dict[str, Any]]
    """New ledger entries, by key."""
    cleared: dict[str, int]
    """Active entries the heartbeat no longer lists: key → their ``since``."""
    ledger: dict[str, dict[str, Any]]
    """The ledger once both are written."""

    @property
    def changes(self) -> bool:
        return bool(self.raised or self.cleared)


def plan(ledger: dict[str, dict[str, Any]], heartbeat: Heartbeat, now: int) -> AlertPlan:
    current = {alert_key(device.id, code): (device, code) for device in heartbeat.devices for code in device.warnings}
    appeared = [(key, device, code) for key, (device, code) in current.items() if key not in ledger]
    raised = {key: {"device": device.id, "name": device.name, "manufacturer": device.manufacturer,
                    "model": device.model, "code": code, "since": now, "raised_sent": False}
              for key, device, code in appeared[:MAX_PER_HEARTBEAT]}
    gone = [(key, entry) for key, entry in sorted(ledger.items()) if key not in current and "cleared_at" not in entry]
    cleared = {key: int(entry["since"]) for key, entry in gone[:MAX_PER_HEARTBEAT]}
    after = {**ledger, **raised}
    for key in cleared:
        after[key] = {**after[key], "cleared_at": now}
    return AlertPlan(raised=raised, cleared=cleared, ledger=after)


def owed(ledger: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any], str]]:
    """The notifications the ledger still owes, oldest first and at most ``MAX_PER_HEARTBEAT`` warnings' worth,
    as (key, entry, event type): each raise before its clear."""
    due = []
    pending = [(key, entry) for key, entry in ledger.items() if not entry["raised_sent"] or "cleared_at" in entry]
    for key, entry in sorted(pending, key=lambda item: (item[1]["since"], item[0]))[:MAX_PER_HEARTBEAT]:
        if not entry["raised_sent"]:
            due.append((key, entry, RAISED))
        if "cleared_at" in entry:
            due.append((key, entry, CLEARED))
    return due
