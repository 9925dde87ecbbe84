"""Where a shop's webhooks go and what signs them, read for each delivery.

A ``PUT .../webhook`` or a secret rotation is acknowledged once its write is in DynamoDB; every delivery that starts
after that reads it with one strongly consistent GetItem of the profile's webhook attributes, so no container
sends to an old URL or signs with a dropped secret (issue 27, point 11). Nothing is cached between deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.aws.clients import client
from chalicelib.aws.storage import from_item, key
from chalicelib.core.settings import settings
from chalicelib.webhooks.sending import signing_secrets

_ATTRIBUTES = "webhook_url, webhook_secret, webhook_secret_previous, webhook_previous_until, deleted_at"


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secrets: list[str]  # the current secret first; the one it replaced while its grace period lasts


def current_target(shop_id: str, now: int) -> WebhookTarget | None:
    """The shop's webhook as of now; None for a shop without one (or deleted)."""
    response = client("dynamodb").get_item(TableName=settings().table("tenants"), Key=key(f"SHOP#{shop_id}", "PROFILE"),
                                           ProjectionExpression=_ATTRIBUTES, ConsistentRead=True)
    profile = from_item(response["Item"]) if "Item" in response else {}
    if "deleted_at" in profile or not profile.get("webhook_url") or not profile.get("webhook_secret"):
        return None
    return WebhookTarget(url=profile["webhook_url"], secrets=signing_secrets(profile, now))
