"""Where a shop's webhooks go and what signs them, as of the delivery that uses them (issue 27, point 11).

A new delivery may start from the shop snapshot its container cached (``shops.service``, up to
``shop_cache_seconds`` old), but it is sent only after DynamoDB confirmed, in the same transaction that creates
its record, that the profile still holds that URL and secret (``unchanged``: a ConditionCheck, no extra
request); when the check fails, the profile is read (``current_target``: one strongly consistent GetItem) and
the transaction tried again. A retry leases an existing record with an UpdateItem, which cannot check another
item, so it reads the profile. Either way a change acknowledged before a delivery starts is the one it uses, in
every container.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.aws.clients import client
from chalicelib.aws.storage import from_item, key, to_item
from chalicelib.core.errors import ShopNotFound
from chalicelib.core.settings import settings
from chalicelib.shops.service import load_snapshot
from chalicelib.webhooks.sending import signing_secrets, subscribed

_ATTRIBUTES = "webhook_url, webhook_secret, webhook_secret_previous, webhook_previous_until, webhook_events, deleted_at"


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secret: str  # the current secret: a rotation or a new URL always replaces it, so it identifies the config
    secrets: list[str]  # what signs: the current secret, and the one it replaced while its grace period lasts
    events: frozenset[str]  # the event types it takes (set with the URL, so a new secret comes with them)


def _target(profile: dict[str, Any], now: int) -> WebhookTarget | None:
    if "deleted_at" in profile or not profile.get("webhook_url") or not profile.get("webhook_secret"):
        return None
    return WebhookTarget(url=profile["webhook_url"], secret=profile["webhook_secret"],
                         secrets=signing_secrets(profile, now), events=subscribed(profile))


def _profile_key(shop_id: str) -> dict[str, Any]:
    return key(f"SHOP#{shop_id}", "PROFILE")


def cached_target(shop_id: str, now: int) -> WebhookTarget | None:
    """The webhook this container last saw (possibly stale): to be confirmed by ``unchanged`` before use."""
    try:
        return _target(load_snapshot(shop_id).profile, now)
    except ShopNotFound:
        return None


def current_target(shop_id: str, now: int) -> WebhookTarget | None:
    """The shop's webhook as of now; None for a shop without one (or deleted)."""
    response = client("dynamodb").get_item(TableName=settings().table("tenants"), Key=_profile_key(shop_id),
                                           ProjectionExpression=_ATTRIBUTES, ConsistentRead=True)
    return _target(from_item(response["Item"]) if "Item" in response else {}, now)


def unchanged(shop_id: str, target: WebhookTarget) -> dict[str, Any]:
    """A TransactWriteItems ConditionCheck that holds while the profile still sends to ``target``."""
    return {"TableName": settings().table("tenants"), "Key": _profile_key(shop_id),
            "ConditionExpression": "webhook_url = :url AND webhook_secret = :secret "
                                   "AND attribute_not_exists(deleted_at)",
            "ExpressionAttributeValues": to_item({":url": target.url, ":secret": target.secret})}
