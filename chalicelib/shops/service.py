"""Shops: onboarding (keys + the shop's own jobs queue), deletion, lookups and their cache."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from chalicelib.aws.clients import client
from chalicelib.aws.storage import cancellation_codes, from_item, key, to_item
from chalicelib.core import resource_names as names
from chalicelib.core.errors import AuthenticationError, ConflictError, ShopNotFound
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


class ShopKeyOut(BaseModel):
    shop_id: str
    shop_key: str = Field(description="The new shop key, shown once; the old one no longer works.")


class EdgeKeyOut(BaseModel):
    shop_id: str
    edge_key: str = Field(description="The new edge key, shown once; the old one and its edge sessions no longer work.")


class WebhookSecretRotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    grace_seconds: int = Field(default=86400, ge=0, le=7 * 86400,
                               description="How long deliveries are signed with the old secret too.")


class WebhookSecretOut(BaseModel):
    url: str
    secret: str = Field(description="The new signing secret (whsec_…), shown once.")
    previous_secret_valid_until: int = Field(
        description="Until then (epoch seconds) every delivery carries a signature with the old secret as well.")


@dataclass(frozen=True)
class ShopSnapshot:
    """A shop's profile and catalogue as read in one Query."""

    profile: dict[str, Any]
    catalog: Catalog

    @property
    def shop_id(self) -> str:
        return str(self.profile["shop_id"])


_cache: dict[str, tuple[float, ShopSnapshot]] = {}
EDGE_KEY_TAG = "edge_key"
"""The jobs queue's tag holding its edge key's stamp; edge sessions may use the queue only while it matches."""


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
        tags={"shop_id": shop_id, "merchant_id": merchant_id, "app": settings().app_name,
              EDGE_KEY_TAG: edge_key_stamp(edge_key)},
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
            {"Put": {"TableName": _table(), "Item": to_item(_listing(profile))}},
        ]
    )
    return {**public_view(profile), "shop_key": shop_key, "edge_key": edge_key}


def _listing(profile: dict[str, Any]) -> dict[str, Any]:
    """The shop's entry in its merchant's list (the console's shops page), written and deleted with the shop."""
    return {"pk": f"MERCHANT#{profile['merchant_id']}", "sk": f"SHOP#{profile['shop_id']}", "shop_id": profile["shop_id"],
            "name": profile["name"], "created_at": profile["created_at"]}


def merchant_shops(merchant_id: str) -> list[dict[str, Any]]:
    """The merchant's live shops (``shop_id``, ``name``, ``created_at``), oldest first."""
    shops: list[dict[str, Any]] = []
    for page in client("dynamodb").get_paginator("query").paginate(
        TableName=_table(), KeyConditionExpression="pk = :pk AND begins_with(sk, :shop)",
        ExpressionAttributeValues={":pk": {"S": f"MERCHANT#{merchant_id}"}, ":shop": {"S": "SHOP#"}},
    ):
        shops.extend(from_item(item) for item in page["Items"])
    return sorted(({k: s[k] for k in ("shop_id", "name", "created_at")} for s in shops),
                  key=lambda s: (s["created_at"], s["shop_id"]))


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


def _key_record(shop_id: str) -> dict[str, Any] | None:
    """The profile's current key stamp (strongly consistent, two attributes), or None for no shop."""
    response = client("dynamodb").get_item(TableName=_table(), Key=key(f"SHOP#{shop_id}", "PROFILE"),
                                           ProjectionExpression="shop_key_digest, deleted_at", ConsistentRead=True)
    record = from_item(response["Item"]) if "Item" in response else None
    return None if record is None or "deleted_at" in record else record


def authorized_by_shop_key(shop_id: str, shop_key: str | None, *, proven_by_the_write: bool = False) -> ShopSnapshot:
    """The shop if ``shop_key`` is its current key. A rotated or deleted shop's key fails at once.

    A snapshot from the cache is checked against the profile's current key stamp. A caller whose own write
    carries ``shop_key_guard`` (order intake) has that check made by DynamoDB inside its transaction, at no
    extra request; any other caller pays one strongly consistent GetItem of the profile. A snapshot just read
    already holds the stamp, so a cache miss adds nothing either way."""
    if not shop_key:
        raise AuthenticationError("missing X-Shop-Key header")
    cached = _cache.get(shop_id)
    try:
        snapshot = load_snapshot(shop_id)
    except ShopNotFound as exc:
        raise AuthenticationError("invalid shop key") from exc
    just_read = _cache.get(shop_id) is not cached
    current = snapshot.profile if just_read or proven_by_the_write else _key_record(shop_id)
    if proven_by_the_write and not just_read and not _key_matches(shop_key, current):
        snapshot = _fresh_or_refused(shop_id)  # a key rotated since this container cached the shop
        current = snapshot.profile
    if not _key_matches(shop_key, current):
        raise AuthenticationError("invalid shop key")
    return snapshot


def _key_matches(shop_key: str, record: dict[str, Any] | None) -> bool:
    return record is not None and "shop_key_digest" in record and matches(shop_key, record["shop_key_digest"])


def _fresh_or_refused(shop_id: str) -> ShopSnapshot:
    try:
        return load_snapshot(shop_id, fresh=True)
    except ShopNotFound as exc:
        raise AuthenticationError("invalid shop key") from exc


def shop_key_guard(shop_id: str, shop_key: str) -> dict[str, Any]:
    """A transaction item that holds only while ``shop_key`` is the live shop's current key."""
    return {"ConditionCheck": {"TableName": _table(), "Key": key(f"SHOP#{shop_id}", "PROFILE"),
                               "ConditionExpression": "shop_key_digest = :d AND attribute_not_exists(deleted_at)",
                               "ExpressionAttributeValues": to_item({":d": digest(shop_key)})}}


def shop_for_edge_key(edge_key: str) -> ShopSnapshot:
    response = client("dynamodb").get_item(TableName=_table(), Key=key(f"EDGEKEY#{digest(edge_key)}", "KEY"))
    if "Item" not in response:
        raise AuthenticationError("invalid edge key")
    return load_snapshot(from_item(response["Item"])["shop_id"])


def edge_key_stamp(edge_key: str) -> str:
    """What an edge JWT carries of the key it was opened with: a prefix of the key's digest, which
    ``edge_key_is_current`` compares with the profile's (64 bits: a rotated key never matches)."""
    return digest(edge_key)[:16]


def edge_key_is_current(shop_id: str, stamp: str) -> dict[str, Any]:
    """A transaction item that fails unless the shop exists and its edge key still has ``stamp``:
    the edge's writes carry it, so a rotated or deleted shop's edge JWT stops working at once
    without a read of its own."""
    return {"ConditionCheck": {"TableName": _table(), "Key": key(f"SHOP#{shop_id}", "PROFILE"),
                               "ConditionExpression": "begins_with(edge_key_digest, :stamp) "
                                                      "AND attribute_not_exists(deleted_at)",
                               "ExpressionAttributeValues": {":stamp": {"S": stamp}}}}


def _live_update(profile: dict[str, Any], update: str, values: dict[str, Any], condition: str = "") -> dict[str, Any]:
    """A transaction item updating the profile while the shop is live and the merchant's."""
    return {"Update": {"TableName": _table(), "Key": key(f"SHOP#{profile['shop_id']}", "PROFILE"),
                       "UpdateExpression": update,
                       "ConditionExpression": "merchant_id = :m AND attribute_not_exists(deleted_at)" + condition,
                       "ExpressionAttributeValues": to_item({":m": profile["merchant_id"], **values})}}


def _rotate(profile: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """Write a rotation; a shop deleted meanwhile is 404, a concurrent rotation 409."""
    try:
        client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if "deleted_at" in _owned_profile(profile["merchant_id"], profile["shop_id"]):
            raise ShopNotFound(f"shop {profile['shop_id']} not found") from exc
        codes = cancellation_codes(exc)
        raise ConflictError(f"the shop's keys changed meanwhile ({', '.join(codes)}); retry") from exc
    finally:
        forget(profile["shop_id"])


def live_profile(merchant_id: str, shop_id: str) -> dict[str, Any]:
    """The stored profile (strongly consistent) of this merchant's live shop; else 404."""
    profile = _owned_profile(merchant_id, shop_id)
    if "deleted_at" in profile:
        raise ShopNotFound(f"shop {shop_id} not found")
    return profile


def rotate_shop_key(merchant_id: str, shop_id: str) -> ShopKeyOut:
    """A new shop key; the old one fails from the next request on (``authorized_by_shop_key``)."""
    profile = live_profile(merchant_id, shop_id)
    shop_key = new_secret("shk")
    _rotate(profile, [_live_update(profile, "SET shop_key_digest = :d", {":d": digest(shop_key)})])
    return ShopKeyOut(shop_id=shop_id, shop_key=shop_key)


def rotate_edge_key(merchant_id: str, shop_id: str) -> EdgeKeyOut:
    """A new edge key: the old key's lookup goes and the profile's digest changes in one
    transaction, so neither the old key nor edge JWTs opened with it work any more; then the
    queue's ``EDGE_KEY_TAG`` changes, so neither do the AWS credentials of those sessions."""
    profile = live_profile(merchant_id, shop_id)
    edge_key = new_secret("edk")
    _rotate(profile, edge_key_replacement(profile, edge_key))
    retag_edge_queue(profile, edge_key)
    return EdgeKeyOut(shop_id=shop_id, edge_key=edge_key)


def edge_key_replacement(profile: dict[str, Any], edge_key: str) -> list[dict[str, Any]]:
    """Transaction items putting ``edge_key`` in place of the profile's current one (its lookup too); they
    fail if the key changed since ``profile`` was read, or the shop was deleted."""
    old, new = profile["edge_key_digest"], digest(edge_key)
    return [
        _live_update(profile, "SET edge_key_digest = :d", {":d": new, ":old": old}, " AND edge_key_digest = :old"),
        {"Delete": {"TableName": _table(), "Key": key(f"EDGEKEY#{old}", "KEY")}},
        {"Put": {"TableName": _table(),
                 "Item": to_item({"pk": f"EDGEKEY#{new}", "sk": "KEY", "shop_id": profile["shop_id"]}),
                 "ConditionExpression": "attribute_not_exists(pk)"}},
    ]


def retag_edge_queue(profile: dict[str, Any], edge_key: str) -> None:
    """After a replacement: the old sessions' AWS credentials lose the queue too (their session policy names
    the old stamp). Should this call fail, the key is replaced but not shown: the 503 asks for another
    rotation (or pairing), which tags again."""
    forget(profile["shop_id"])
    client("sqs").tag_queue(QueueUrl=profile["queue_url"], Tags={EDGE_KEY_TAG: edge_key_stamp(edge_key)})


def rotate_webhook_secret(merchant_id: str, shop_id: str, new_secret_value: str,
                          request: WebhookSecretRotateIn, now: int) -> WebhookSecretOut:
    """Replace the webhook signing secret; the old one keeps signing too for ``grace_seconds``
    (a secret older than that is dropped). 409 when the shop has no webhook."""
    profile = live_profile(merchant_id, shop_id)
    if not profile.get("webhook_secret"):
        raise ConflictError("the shop has no webhook; set one with PUT /api/v1/shops/{shop_id}/webhook")
    until = now + request.grace_seconds
    _rotate(profile, [_live_update(
        profile, "SET webhook_secret = :new, webhook_secret_previous = :old, webhook_previous_until = :until",
        {":new": new_secret_value, ":old": profile["webhook_secret"], ":until": until},
        " AND webhook_secret = :old")])
    return WebhookSecretOut(url=profile["webhook_url"], secret=new_secret_value, previous_secret_valid_until=until)


def set_webhook(shop_id: str, url: str, secret: str, events: list[str] | None = None) -> None:
    """Set the webhook target and secret, and the event types it receives (None: the order events)."""
    values = {":u": {"S": url}, ":s": {"S": secret}}
    if events:
        values[":e"] = {"L": [{"S": event} for event in events]}
    subscription = ", webhook_events = :e REMOVE" if events else " REMOVE webhook_events,"
    client("dynamodb").update_item(
        TableName=_table(),
        Key=key(f"SHOP#{shop_id}", "PROFILE"),
        UpdateExpression=f"SET webhook_url = :u, webhook_secret = :s{subscription} webhook_secret_previous, "
                         "webhook_previous_until",
        ExpressionAttributeValues=values,
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
                                            "REMOVE shop_key_digest, edge_key_digest, webhook_url, webhook_secret, "
                                            "webhook_secret_previous, webhook_previous_until",
                        "ConditionExpression": "merchant_id = :m AND attribute_not_exists(deleted_at)",
                        "ExpressionAttributeValues": to_item({":now": int(time.time()), ":m": profile["merchant_id"]})}},
            {"Delete": {"TableName": _table(), "Key": key(f"EDGEKEY#{profile['edge_key_digest']}", "KEY")}},
            {"Delete": {"TableName": _table(), "Key": key(f"MERCHANT#{profile['merchant_id']}", f"SHOP#{shop_id}")}},
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
