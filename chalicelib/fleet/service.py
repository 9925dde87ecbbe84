"""The two fleet routes: an edge's heartbeat, and the owner's view of the shop's edge.

A heartbeat costs one UpdateItem while nothing changes. When a warning appears or goes, two more (the
ledger write, conditional, and marking what was queued) and one SendMessageBatch for the events.
"""

from __future__ import annotations

from typing import Any

from chalicelib.contracts import Heartbeat, HeartbeatAck
from chalicelib.core import validation
from chalicelib.core.errors import SchemaValidationError, ShopNotFound
from chalicelib.fleet import alerts, events, store
from chalicelib.fleet.view import ONLINE_WINDOW, EdgeView, edge_view

MAX_HEARTBEAT_BYTES = 32 * 1024
"""Far above what 16 devices with 16 warnings each take; a larger body is refused before it is parsed."""


def parse_heartbeat(raw: bytes | None) -> Heartbeat:
    if raw is not None and len(raw) > MAX_HEARTBEAT_BYTES:
        raise SchemaValidationError(f"a heartbeat is at most {MAX_HEARTBEAT_BYTES} bytes")
    return validation.parse_body(Heartbeat, raw)


def accept_heartbeat(shop_id: str, key_stamp: str, heartbeat: Heartbeat, now: int) -> HeartbeatAck:
    """Record the heartbeat (``now`` is last_seen) and queue the warning notifications it owes."""
    state = {"last_seen": now, **heartbeat.model_dump(mode="json", include={"version", "devices", "backlog"})}
    before = store.record_heartbeat(shop_id, key_stamp, state, now + ONLINE_WINDOW)
    _notify_warnings(shop_id, before, heartbeat, now)
    return HeartbeatAck(last_seen=now)


def _notify_warnings(shop_id: str, before: dict[str, Any], heartbeat: Heartbeat, now: int) -> None:
    plan = alerts.plan(before.get("edge_alerts", {}), heartbeat, now)
    if plan.changes and not store.write_alerts(shop_id, plan.raised, plan.cleared, now):
        return  # another heartbeat wrote this change first, and notifies it
    owed = alerts.owed(plan.ledger)
    if not owed:
        return
    sending = [(alert, entry, kind) for alert, entry, kind in owed if events.wanted(before, kind)]
    failed = events.publish([events.message(shop_id, events.warning(shop_id, entry, kind))
                             for _, entry, kind in sending])
    not_queued = {(sending[position][0], sending[position][2]) for position in failed}
    raised = {alert: entry["since"] for alert, entry, kind in owed
              if kind == alerts.RAISED and (alert, kind) not in not_queued}
    finished = {alert: entry["since"] for alert, entry, kind in owed
                if kind == alerts.CLEARED and not {(alert, alerts.RAISED), (alert, kind)} & not_queued}
    if raised or finished:
        store.settle_alerts(shop_id, {a: s for a, s in raised.items() if a not in finished}, finished)


def edge_status(merchant_id: str, shop_id: str, now: int) -> EdgeView:
    """The shop's edge as its owner sees it; another merchant's shop is indistinguishable from none."""
    record = store.read_edge(shop_id)
    if record is None or record["merchant_id"] != merchant_id or "deleted_at" in record:
        raise ShopNotFound(f"shop {shop_id} not found")
    return edge_view(record.get("edge"), now)
