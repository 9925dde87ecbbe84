"""Shops: onboarding (keys + the shop's own jobs queue), deletion, lookups and their cache."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from chalicelib.aws.clients import client
from chalicelib.aws.storage import from_item, key, to_item
from chalicelib.core import resource_names as names
from chalicelib.core.errors import AuthenticationError, ShopNotFound
from chalicelib.core.secrets_util import digest, matches, new_secret
from chalicelib.core.settings import settings
from chalicelib.shops.catalog import Catalog


class CreateShop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA zone the runtime knows (tzdata ships the database): a typo would put every report on UTC."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from exc
        return value


@dataclass(frozen=True)
class ShopSnapshot:
    """A shop's profile and catalogue as read in one Query."""

    profile: dict[str, Any]
    catalog: Catalog

    @property
    def shop_id(self) -> str:
        return str(self.profile["shop_id"])


_cache: dict[str, tuple[float, ShopSnapshot]] = {}


def _table() -> str:
    return settings().table("tenants")


def _dlq_arn() -> str:
    cfg = settings()
    return f"arn:aws:sqs:{cfg.region}:{cfg.account_id}:{cfg.queue(names.JOBS_DLQ)}"


def public_view(profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "shop_id": profile["shop_id"],
        "name": profile["name"],
        "timezone": profile["timezone"],
        "currency": profile["currency"],
        "queue_url": profile["queue_url"],
        "webhook_url": profile.get("webhook_url"),
        "created_at": profile["created_at"],
    }


def create_shop(merchant_id: str, request: CreateShop) -> dict[str, Any]:
    """Create the shop, its jobs queue (with DLQ redrive and tags) and its keys.

    The keys are returned once; only their digests are stored.
    """
    shop_id = str(uuid.uuid4())
    shop_key, edge_key = new_secret("shk"), new_secret("edk")
    queue_url = client("sqs").create_queue(
        QueueName=settings().shop_jobs_queue(shop_id),
        Attributes=names.shop_jobs_queue_attributes(_dlq_arn()),
        tags={"shop_id": shop_id, "merchant_id": merchant_id, "app": settings().app_name},
    )["QueueUrl"]
    profile = {
        "shop_id": shop_id,
        "merchant_id": merchant_id,
        "name": request.name,
        "timezone": request.timezone,
        "currency": request.currency,
        "queue_url": queue_url,
        "shop_key_digest": digest(shop_key),
        "edge_key_digest": digest(edge_key),
        "created_at": int(time.time()),
    }
    client("dynamodb").transact_write_items(
        TransactItems=[
            {"Put": {"TableName": _table(), "Item": to_item({"pk": f"SHOP#{shop_id}", "sk": "PROFILE", **profile}),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": _table(),
                     "Item": to_item({"pk": f"EDGEKEY#{digest(edge_key)}", "sk": "KEY", "shop_id": shop_id}),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
    )
    return {**public_view(profile), "shop_key": shop_key, "edge_key": edge_key}


def load_snapshot(shop_id: str, *, fresh: bool = False) -> ShopSnapshot:
    """Profile and catalogue in one Query, cached for a few seconds per container."""
    now = time.monotonic()
    cached = _cache.get(shop_id)
    if cached and not fresh and now - cached[0] < settings().shop_cache_seconds:
        return cached[1]
    records: list[dict[str, Any]] = []
    paginator = client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"SHOP#{shop_id}"}},
    ):
        records.extend(from_item(item) for item in page["Items"])
    profile = next((r for r in records if r["sk"] == "PROFILE"), None)
    if profile is None or "deleted_at" in profile:
        raise ShopNotFound(f"shop {shop_id} not found")
    snapshot = ShopSnapshot(profile=profile, catalog=Catalog.from_records([r for r in records if r["sk"].startswith("CAT#")]))
    _cache[shop_id] = (now, snapshot)
    return snapshot


def forget(shop_id: str) -> None:
    _cache.pop(shop_id, None)


def owned_by(merchant_id: str, shop_id: str, *, fresh: bool = False) -> ShopSnapshot:
    """The shop if this merchant owns it; another merchant's shop is indistinguishable from none."""
    snapshot = load_snapshot(shop_id, fresh=fresh)
    if snapshot.profile["merchant_id"] != merchant_id:
        raise ShopNotFound(f"shop {shop_id} not found")
    return snapshot


def authorized_by_shop_key(shop_id: str, shop_key: str | None) -> ShopSnapshot:
    if not shop_key:
        raise AuthenticationError("missing X-Shop-Key header")
    try:
        snapshot = load_snapshot(shop_id)
    except ShopNotFound as exc:
        raise AuthenticationError("invalid shop key") from exc
    if not matches(shop_key, snapshot.profile["shop_key_digest"]):
        raise AuthenticationError("invalid shop key")
    return snapshot


def shop_for_edge_key(edge_key: str) -> ShopSnapshot:
    response = client("dynamodb").get_item(TableName=_table(), Key=key(f"EDGEKEY#{digest(edge_key)}", "KEY"))
    if "Item" not in response:
        raise AuthenticationError("invalid edge key")
    return load_snapshot(from_item(response["Item"])["shop_id"])


def set_webhook(shop_id: str, url: str, secret: str) -> None:
    client("dynamodb").update_item(
        TableName=_table(),
        Key=key(f"SHOP#{shop_id}", "PROFILE"),
        UpdateExpression="SET webhook_url = :u, webhook_secret = :s",
        ExpressionAttributeValues={":u": {"S": url}, ":s": {"S": secret}},
        ConditionExpression="attribute_exists(pk)",
    )
    forget(shop_id)


_QUEUE_GONE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def _owned_profile(merchant_id: str, shop_id: str) -> dict[str, Any]:
    """The stored profile, tombstone included, if this merchant owns the shop; else 404."""
    response = client("dynamodb").get_item(TableName=_table(), Key=key(f"SHOP#{shop_id}", "PROFILE"),
                                           ConsistentRead=True)
    profile = from_item(response["Item"]) if "Item" in response else None
    if profile is None or profile["merchant_id"] != merchant_id:
        raise ShopNotFound(f"shop {shop_id} not found")
    return profile


def _retire(profile: dict[str, Any]) -> None:
    """Tombstone the profile (keys and webhook secret dropped) and delete the edge-key lookup, atomically."""
    shop_id = profile["shop_id"]
    try:
        client("dynamodb").transact_write_items(TransactItems=[
            {"Update": {"TableName": _table(), "Key": key(f"SHOP#{shop_id}", "PROFILE"),
                        "UpdateExpression": "SET deleted_at = :now "
                                            "REMOVE shop_key_digest, edge_key_digest, webhook_url, webhook_secret",
                        "ConditionExpression": "merchant_id = :m AND attribute_not_exists(deleted_at)",
                        "ExpressionAttributeValues": to_item({":now": int(time.time()), ":m": profile["merchant_id"]})}},
            {"Delete": {"TableName": _table(), "Key": key(f"EDGEKEY#{profile['edge_key_digest']}", "KEY")}},
        ])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if "deleted_at" not in _owned_profile(profile["merchant_id"], shop_id):
            raise


def delete_shop(merchant_id: str, shop_id: str) -> None:
    """Delete a shop: its shop key and edge key stop working at once, then its jobs queue goes.

    The profile stays as a tombstone (owner, name, dates) because the shop's orders
    and receipts are kept. Repeating the call finishes a deletion that stopped halfway.
    """
    profile = _owned_profile(merchant_id, shop_id)
    if "deleted_at" not in profile:
        _retire(profile)
    forget(shop_id)
    try:
        client("sqs").delete_queue(QueueUrl=profile["queue_url"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _QUEUE_GONE:
            raise
