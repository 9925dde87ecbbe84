"""The fleet's webhook events, beside the order ones and sent by the same code (``chalicelib.webhooks``).

Bodies follow the seed's naming style (camelCase, ``cashBoxID`` is the shop). Each event has an ``eventID``
fixed by what it is about (one warning's appearance, one outage), so its webhook-id is stable and a
notification queued twice is delivered once.
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.webhooks import sending as webhooks

_NAMESPACE = uuid.UUID("5d0c7c1e-4a4b-4f64-9b1e-2f3c8f6b9a10")
OFFLINE = "edge.offline"


def _event_id(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join(str(part) for part in parts)))


def wanted(profile: dict[str, Any], event_type: str) -> bool:
    """Whether the shop's webhook receives this event type now."""
    return bool(profile.get("webhook_url")) and event_type in webhooks.subscribed(profile)


def warning(shop_id: str, entry: dict[str, Any], event_type: str) -> dict[str, Any]:
    """``device.warning`` (a warning appeared) or ``device.warning_cleared`` (it went), one ``eventID`` for both."""
    body = {"type": event_type, "eventID": _event_id(shop_id, entry["device"], entry["code"], entry["since"]),
            "cashBoxID": shop_id, "deviceID": entry["device"], "deviceName": entry["name"],
            "manufacturer": entry["manufacturer"], "model": entry["model"], "code": entry["code"],
            "since": entry["since"]}
    if "cleared_at" in entry:
        body["clearedAt"] = entry["cleared_at"]
    return body


def offline(shop_id: str, last_seen: int, offline_at: int) -> dict[str, Any]:
    """``edge.offline``: no heartbeat since ``last_seen``; offline from ``offline_at`` on."""
    return {"type": OFFLINE, "eventID": _event_id(shop_id, "offline", offline_at), "cashBoxID": shop_id,
            "lastSeen": last_seen, "offlineSince": offline_at}


def message(shop_id: str, payload: dict[str, Any]) -> webhooks.WebhookMessage:
    return webhooks.WebhookMessage(shop_id=shop_id, webhook_id=f"msg_{payload['eventID']}_{payload['type']}",
                                   payload=payload)


def publish(messages: list[webhooks.WebhookMessage]) -> set[int]:
    """Queue the events (deduplicated by webhook-id); the positions SQS did not take."""
    if not messages:
        return set()
    return webhooks.publish_many([(m, m.webhook_id) for m in messages])
