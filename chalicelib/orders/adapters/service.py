"""Shop-platform adapters: Shopify ``orders/create`` and ``refunds/create``, WooCommerce ``order.created`` and the
refunds an ``order.updated`` lists, as orders and refund orders.

A merchant sets, per shop and platform, the secret the platform signs with
(Shopify: the app's client secret; WooCommerce: the secret typed when creating
the webhook), the catalogue ids an imported order uses (payment method,
delivery method, user) and the VAT rates the shop's fiscal device prints
(``vat_rates``: an order at another rate is refused at intake). Each delivery
is verified (base64 HMAC-SHA256 of the raw body) before anything else is read,
then mapped by its platform's module (``base`` states the rules) and recorded
through ``record_order``: idempotent by the platform's order id (``shopify-<id>``,
``woo-<id>``) and refund id (``…-r<refund id>``). Mapping is pure; I/O is the
config item in the tenants table and, for a refund, its parent sale.
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
from chalicelib.core import money
from chalicelib.core.errors import (
    CatalogReferenceError,
    OrderNotFound,
    SchemaValidationError,
    ShopNotFound,
    SignatureInvalid,
)
from chalicelib.core.settings import settings
from chalicelib.core.validation import describe
from chalicelib.orders.adapters.base import PlatformAdapter
from chalicelib.orders.adapters.registry import ADAPTERS
from chalicelib.orders.service import (
    OrderIn,
    OrderOut,
    get_order,
    public_view,
    record_order,
)
from chalicelib.shops.catalog import CatalogKind, RateString
from chalicelib.shops.service import ShopSnapshot, load_snapshot


class AdapterConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    secret: Annotated[str, StringConstraints(min_length=16, max_length=512)]
    payment_method_id: Identifier
    delivery_method_id: Identifier
    user_id: Identifier
    vat_rates: Annotated[list[RateString], Field(min_length=1, max_length=8)] = Field(
        description="The VAT rates (percent) the shop's fiscal device prints; an order line at another rate is "
                    "refused with E_VAT_RATE_UNSUPPORTED. Include 0 to accept untaxed lines.")


class AdapterConfigOut(BaseModel):
    platform: str
    endpoint: str = Field(description="The URL to give the platform as its webhook address.")
    payment_method_id: str
    delivery_method_id: str
    user_id: str
    vat_rates: list[str] | None


class AdapterResultOut(BaseModel):
    """The recorded order, the recorded refund orders, or why the delivery was acknowledged without either (a ping,
    another topic, a delivery that lists no refund)."""

    order: OrderOut | None = None
    refunds: list[OrderOut] = Field(default=[], description="The refund orders a refund delivery recorded or replayed.")
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
                            vat_rates=config.get("vat_rates"),
                            **{k: config[k] for k in ("payment_method_id", "delivery_method_id", "user_id")}).model_dump()


def put_config(snapshot: ShopSnapshot, platform: PlatformAdapter, config: AdapterConfigIn) -> dict[str, Any]:
    """Store the platform's secret and the catalogue ids its orders use (each must exist)."""
    for kind, entry_id, field in ((CatalogKind.PAYMENT_METHODS, config.payment_method_id, "payment_method_id"),
                                  (CatalogKind.DELIVERY_METHODS, config.delivery_method_id, "delivery_method_id"),
                                  (CatalogKind.USERS, config.user_id, "user_id")):
        if snapshot.catalog.get(kind, entry_id) is None:
            raise CatalogReferenceError(f"{field} '{entry_id}' is not in this shop's {kind.value}")
    data = {**config.model_dump(), "vat_rates": [money.plain_decimal(rate) for rate in config.vat_rates]}
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


def _payload(model: type[BaseModel], raw: bytes) -> Any:
    """The verified platform body as ``model`` (decimals read exactly, never as floats)."""
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, InvalidOperation) as exc:
        raise SchemaValidationError("body must be the platform's JSON payload") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SchemaValidationError(describe(exc)) from exc


def to_order(snapshot: ShopSnapshot, platform: PlatformAdapter, config: dict[str, Any], raw: bytes) -> OrderIn:
    return platform.to_order(snapshot, config, _payload(platform.payload, raw))


def to_refunds(snapshot: ShopSnapshot, platform: PlatformAdapter, config: dict[str, Any], raw: bytes) -> list[OrderIn]:
    def parent(order_id: str) -> dict[str, Any]:
        try:
            return get_order(snapshot.shop_id, order_id)
        except OrderNotFound as exc:
            raise CatalogReferenceError(f"the refunded order {order_id} was never recorded by this shop") from exc

    return platform.to_refunds(snapshot, config, _payload(platform.refund_payload, raw), parent)


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
    if topic == platform.order_topic:
        order, created = record_order(snapshot, to_order(snapshot, platform, config, raw))
        return AdapterResultOut(order=public_view(order)).model_dump(mode="json"), 201 if created else 200
    if topic != platform.refund_topic:
        return AdapterResultOut(ignored=f"topic {topic[:60] or '(none)'}").model_dump(mode="json"), 200
    recorded = [record_order(snapshot, refund) for refund in to_refunds(snapshot, platform, config, raw)]
    if not recorded:
        return AdapterResultOut(ignored="no refund to record").model_dump(mode="json"), 200
    return (AdapterResultOut(refunds=[public_view(order) for order, _ in recorded]).model_dump(mode="json"),
            201 if any(created for _, created in recorded) else 200)
