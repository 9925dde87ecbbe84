"""Shop-platform adapters: Shopify ``orders/create`` and WooCommerce ``order.created`` webhooks as orders.

A merchant sets, per shop and platform, the secret the platform signs with
(Shopify: the app's client secret; WooCommerce: the secret typed when creating
the webhook) and the catalogue ids an imported order uses (payment method,
delivery method, user). Each delivery is verified (base64 HMAC-SHA256 of the
raw body) before anything else is read, then mapped onto ``OrderIn``: the
platform's order id becomes ``order_id`` (``shopify-<id>``, ``woo-<id>``), a
line whose SKU is a catalogue item id becomes that item, any other line a free
line at the price paid with its VAT rate. Mapping is pure; I/O is the config
item in the tenants table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib.aws.clients import client
from chalicelib.aws.storage import from_item, key, to_item
from chalicelib.contracts import Identifier
from chalicelib.core.errors import (
    CatalogReferenceError,
    SchemaValidationError,
    ShopNotFound,
    SignatureInvalid,
)
from chalicelib.core.settings import settings
from chalicelib.core.validation import describe
from chalicelib.orders.adapters.base import PlatformAdapter
from chalicelib.orders.adapters.registry import ADAPTERS
from chalicelib.orders.service import OrderIn, OrderOut, public_view, record_order
from chalicelib.shops.catalog import CatalogKind
from chalicelib.shops.service import ShopSnapshot, load_snapshot


class AdapterConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    secret: Annotated[str, StringConstraints(min_length=16, max_length=512)]
    payment_method_id: Identifier
    delivery_method_id: Identifier
    user_id: Identifier
    default_vat_rate: Annotated[str, StringConstraints(pattern=r"^\d{1,3}(\.\d{1,2})?$")] = "0"


class AdapterConfigOut(BaseModel):
    platform: str
    endpoint: str = Field(description="The URL to give the platform as its webhook address.")
    payment_method_id: str
    delivery_method_id: str
    user_id: str
    default_vat_rate: str


class AdapterResultOut(BaseModel):
    """The recorded order, or why the delivery was acknowledged without one (a ping, another topic)."""

    order: OrderOut | None = None
    ignored: str | None = None


def parse_platform(value: str) -> PlatformAdapter:
    try:
        return ADAPTERS[value]
    except KeyError as exc:
        raise SchemaValidationError("platform must be shopify or woocommerce") from exc


def _config_key(shop_id: str, platform: PlatformAdapter) -> dict[str, Any]:
    return key(f"SHOP#{shop_id}", f"ADAPTER#{platform.name}")


def config_view(shop_id: str, platform: PlatformAdapter, config: dict[str, Any]) -> dict[str, Any]:
    endpoint = f"{settings().public_base_url.rstrip('/')}/api/v1/shops/{shop_id}/adapters/{platform.name}/orders"
    return AdapterConfigOut(platform=platform.name, endpoint=endpoint,
                            **{k: config[k] for k in ("payment_method_id", "delivery_method_id", "user_id",
                                                       "default_vat_rate")}).model_dump()


def put_config(snapshot: ShopSnapshot, platform: PlatformAdapter, config: AdapterConfigIn) -> dict[str, Any]:
    """Store the platform's secret and the catalogue ids its orders use (each must exist)."""
    for kind, entry_id, field in ((CatalogKind.PAYMENT_METHODS, config.payment_method_id, "payment_method_id"),
                                  (CatalogKind.DELIVERY_METHODS, config.delivery_method_id, "delivery_method_id"),
                                  (CatalogKind.USERS, config.user_id, "user_id")):
        if snapshot.catalog.get(kind, entry_id) is None:
            raise CatalogReferenceError(f"{field} '{entry_id}' is not in this shop's {kind.value}")
    data = config.model_dump()
    client("dynamodb").put_item(TableName=settings().table("tenants"),
                                Item=to_item({"pk": f"SHOP#{snapshot.shop_id}", "sk": f"ADAPTER#{platform.name}",
                                              **data}))
    return config_view(snapshot.shop_id, platform, data)


def get_config(shop_id: str, platform: PlatformAdapter) -> dict[str, Any] | None:
    response = client("dynamodb").get_item(TableName=settings().table("tenants"), Key=_config_key(shop_id, platform),
                                           ConsistentRead=True)
    return from_item(response["Item"]) if "Item" in response else None


def verify(secret: str, raw: bytes, signature: str | None) -> None:
    """Raise SignatureInvalid unless ``signature`` is the base64 HMAC-SHA256 of the raw body."""
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    if not signature or not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureInvalid("webhook signature does not verify")


def to_order(snapshot: ShopSnapshot, platform: PlatformAdapter, config: dict[str, Any], raw: bytes) -> OrderIn:
    """The verified platform body as an order (decimals read exactly, never as floats)."""
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, InvalidOperation) as exc:
        raise SchemaValidationError("body must be the platform's JSON order") from exc
    try:
        return platform.to_order(snapshot, config, platform.payload.model_validate(data))
    except ValidationError as exc:
        raise SchemaValidationError(describe(exc)) from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def receive(shop_id: str, platform: PlatformAdapter, headers: Any, raw: bytes | None) -> tuple[dict[str, Any], int]:
    """Verify, map and record one platform webhook; (body, status): 201 created, 200 replayed or ignored."""
    raw = raw or b""
    if platform.is_ping(raw):
        return AdapterResultOut(ignored="ping").model_dump(mode="json"), 200
    try:
        snapshot = load_snapshot(shop_id)
    except ShopNotFound as exc:
        raise SignatureInvalid("webhook signature does not verify") from exc
    config = get_config(shop_id, platform)
    if config is None:
        raise SignatureInvalid(f"no {platform.name} secret is set for this shop")
    verify(config["secret"], raw, headers.get(platform.signature_header))
    topic = (headers.get(platform.topic_header) or "").strip()
    if topic != platform.order_topic:
        return AdapterResultOut(ignored=f"topic {topic[:60] or '(none)'}").model_dump(mode="json"), 200
    order, created = record_order(snapshot, to_order(snapshot, platform, config, raw))
    return AdapterResultOut(order=public_view(order)).model_dump(mode="json"), 201 if created else 200
