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
import re
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib import money
from chalicelib.aws import client
from chalicelib.catalog import CatalogKind
from chalicelib.contracts import Identifier
from chalicelib.errors import CatalogReferenceError, SchemaValidationError, ShopNotFound, SignatureInvalid
from chalicelib.orders import OrderIn, OrderOut, public_view, record_order
from chalicelib.settings import settings
from chalicelib.shops import ShopSnapshot, load_snapshot
from chalicelib.storage import from_item, key, to_item
from chalicelib.validation import describe, parse_data

_CENT = Decimal("0.01")
_WOO_PING = re.compile(rb"^webhook_id=\d{1,20}$")
_SKU = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class Platform(str, Enum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"


SIGNATURE_HEADER = {Platform.SHOPIFY: "x-shopify-hmac-sha256", Platform.WOOCOMMERCE: "x-wc-webhook-signature"}
TOPIC_HEADER = {Platform.SHOPIFY: "x-shopify-topic", Platform.WOOCOMMERCE: "x-wc-webhook-topic"}
ORDER_TOPIC = {Platform.SHOPIFY: "orders/create", Platform.WOOCOMMERCE: "order.created"}
ORDER_PREFIX = {Platform.SHOPIFY: "shopify", Platform.WOOCOMMERCE: "woo"}


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


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ShopifyTaxLine(_Lenient):
    rate: Decimal = Field(ge=0, le=1)


class ShopifyLine(_Lenient):
    title: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    sku: str | None = None
    quantity: int = Field(gt=0, le=100000)
    price: Decimal = Field(ge=0, le=10_000_000)
    tax_lines: list[ShopifyTaxLine] = []


class ShopifyShippingLine(_Lenient):
    title: Annotated[str, StringConstraints(max_length=500)] = "Shipping"
    price: Decimal = Field(ge=0, le=10_000_000)
    tax_lines: list[ShopifyTaxLine] = []


class ShopifyCustomer(_Lenient):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class ShopifyOrder(_Lenient):
    id: int = Field(gt=0)
    created_at: datetime | None = None
    taxes_included: bool = True
    line_items: Annotated[list[ShopifyLine], Field(min_length=1, max_length=500)]
    shipping_lines: Annotated[list[ShopifyShippingLine], Field(max_length=20)] = []
    customer: ShopifyCustomer | None = None


class WooTax(_Lenient):
    id: int
    total: Decimal | None = None


class WooLine(_Lenient):
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    sku: str | None = None
    quantity: int = Field(gt=0, le=100000)
    total: Decimal = Field(ge=0, le=10_000_000)
    total_tax: Decimal = Field(ge=0, le=10_000_000)
    taxes: list[WooTax] = []


class WooTaxLine(_Lenient):
    rate_id: int
    rate_percent: Decimal | None = Field(default=None, ge=0, le=100)


class WooShippingLine(_Lenient):
    method_title: Annotated[str, StringConstraints(max_length=500)] = "Shipping"
    total: Decimal = Field(ge=0, le=10_000_000)
    total_tax: Decimal = Field(ge=0, le=10_000_000)


class WooBilling(_Lenient):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class WooOrder(_Lenient):
    id: int = Field(gt=0)
    date_created_gmt: datetime | None = None
    line_items: Annotated[list[WooLine], Field(min_length=1, max_length=500)]
    tax_lines: list[WooTaxLine] = []
    shipping_lines: Annotated[list[WooShippingLine], Field(max_length=20)] = []
    billing: WooBilling | None = None


def parse_platform(value: str) -> Platform:
    try:
        return Platform(value)
    except ValueError as exc:
        raise SchemaValidationError("platform must be shopify or woocommerce") from exc


def _config_key(shop_id: str, platform: Platform) -> dict[str, Any]:
    return key(f"SHOP#{shop_id}", f"ADAPTER#{platform.value}")


def config_view(shop_id: str, platform: Platform, config: dict[str, Any]) -> dict[str, Any]:
    endpoint = f"{settings().public_base_url.rstrip('/')}/api/v1/shops/{shop_id}/adapters/{platform.value}/orders"
    return AdapterConfigOut(platform=platform.value, endpoint=endpoint,
                            **{k: config[k] for k in ("payment_method_id", "delivery_method_id", "user_id",
                                                       "default_vat_rate")}).model_dump()


def put_config(snapshot: ShopSnapshot, platform: Platform, config: AdapterConfigIn) -> dict[str, Any]:
    """Store the platform's secret and the catalogue ids its orders use (each must exist)."""
    for kind, entry_id, field in ((CatalogKind.PAYMENT_METHODS, config.payment_method_id, "payment_method_id"),
                                  (CatalogKind.DELIVERY_METHODS, config.delivery_method_id, "delivery_method_id"),
                                  (CatalogKind.USERS, config.user_id, "user_id")):
        if snapshot.catalog.get(kind, entry_id) is None:
            raise CatalogReferenceError(f"{field} '{entry_id}' is not in this shop's {kind.value}")
    data = config.model_dump()
    client("dynamodb").put_item(TableName=settings().table("tenants"),
                                Item=to_item({"pk": f"SHOP#{snapshot.shop_id}", "sk": f"ADAPTER#{platform.value}",
                                              **data}))
    return config_view(snapshot.shop_id, platform, data)


def get_config(shop_id: str, platform: Platform) -> dict[str, Any] | None:
    response = client("dynamodb").get_item(TableName=settings().table("tenants"), Key=_config_key(shop_id, platform),
                                           ConsistentRead=True)
    return from_item(response["Item"]) if "Item" in response else None


def is_woo_ping(platform: Platform, raw: bytes) -> bool:
    """WooCommerce's test delivery when a webhook is saved: ``webhook_id=<n>``, nothing to record."""
    return platform is Platform.WOOCOMMERCE and bool(_WOO_PING.match(raw.strip()))


def verify(secret: str, raw: bytes, signature: str | None) -> None:
    """Raise SignatureInvalid unless ``signature`` is the base64 HMAC-SHA256 of the raw body."""
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    if not signature or not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureInvalid("webhook signature does not verify")


def _rate_percent(fraction_sum: Decimal) -> Decimal:
    return (fraction_sum * 100).quantize(_CENT, ROUND_HALF_UP)


def _client(first: str | None, last: str | None, email: str | None, phone: str | None) -> dict[str, str] | None:
    name = " ".join(part.strip() for part in (first, last) if part and part.strip()) or (email or "").strip()
    if not name:
        return None
    fields = {"name": name[:120], "email": email, "phone": phone}
    return {k: v for k, v in fields.items() if v}


def _free_line(name: str, quantity: int, gross_total: Decimal, rate: Decimal) -> dict[str, str]:
    """A free line at the price paid; a total that does not split evenly over the quantity stays one line."""
    cents = money.to_minor(gross_total)
    if cents % quantity == 0:
        return {"name": name[:72], "quantity": str(quantity), "unit_price": money.format_minor(cents // quantity),
                "vat_rate": money.plain_decimal(rate)}
    return {"name": f"{name[:64]} x{quantity}", "quantity": "1", "unit_price": money.format_minor(cents),
            "vat_rate": money.plain_decimal(rate)}


def _catalogue_line(snapshot: ShopSnapshot, sku: str | None, quantity: int) -> dict[str, str] | None:
    if sku and _SKU.match(sku) and snapshot.catalog.get(CatalogKind.ITEMS, sku) is not None:
        return {"item_id": sku, "quantity": str(quantity)}
    return None


def _epoch(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return int(aware.timestamp())


def shopify_order(snapshot: ShopSnapshot, config: dict[str, Any], order: ShopifyOrder) -> OrderIn:
    default_rate = Decimal(config["default_vat_rate"])

    def rate_of(taxes: list[ShopifyTaxLine]) -> Decimal:
        return _rate_percent(sum((t.rate for t in taxes), Decimal(0))) if taxes else default_rate

    def gross(price: Decimal, rate: Decimal) -> Decimal:
        return price if order.taxes_included else price * (100 + rate) / 100

    lines = []
    for line in order.line_items:
        rate = rate_of(line.tax_lines)
        lines.append(_catalogue_line(snapshot, line.sku, line.quantity)
                     or _free_line(line.title, line.quantity, gross(line.price, rate) * line.quantity, rate))
    for shipping in order.shipping_lines:
        if shipping.price > 0:
            rate = rate_of(shipping.tax_lines)
            lines.append(_free_line(f"Shipping: {shipping.title}", 1, gross(shipping.price, rate), rate))
    customer = order.customer
    return _order_in(Platform.SHOPIFY, order.id, config, lines, _epoch(order.created_at),
                     _client(customer.first_name, customer.last_name, customer.email, customer.phone)
                     if customer else None)


def woo_order(snapshot: ShopSnapshot, config: dict[str, Any], order: WooOrder) -> OrderIn:
    default_rate = Decimal(config["default_vat_rate"])
    rates = {t.rate_id: t.rate_percent for t in order.tax_lines if t.rate_percent is not None}

    def rate_of(net: Decimal, tax: Decimal, taxes: list[WooTax]) -> Decimal:
        known = [rates[t.id] for t in taxes if t.id in rates and (t.total or 0) != 0]
        if known:
            return sum(known, Decimal(0)).quantize(_CENT, ROUND_HALF_UP)
        if tax == 0:
            return Decimal(0) if taxes or net else default_rate
        return (tax * 100 / net).quantize(_CENT, ROUND_HALF_UP) if net else default_rate

    lines = []
    for line in order.line_items:
        lines.append(_catalogue_line(snapshot, line.sku, line.quantity)
                     or _free_line(line.name, line.quantity, line.total + line.total_tax,
                                   rate_of(line.total, line.total_tax, line.taxes)))
    for shipping in order.shipping_lines:
        if shipping.total + shipping.total_tax > 0:
            lines.append(_free_line(f"Shipping: {shipping.method_title}", 1, shipping.total + shipping.total_tax,
                                    rate_of(shipping.total, shipping.total_tax, [])))
    billing = order.billing
    return _order_in(Platform.WOOCOMMERCE, order.id, config, lines, _epoch(order.date_created_gmt),
                     _client(billing.first_name, billing.last_name, billing.email, billing.phone) if billing else None)


def _order_in(platform: Platform, platform_id: int, config: dict[str, Any], lines: list[dict[str, str]],
              date: int | None, customer: dict[str, str] | None) -> OrderIn:
    body = {"order_id": f"{ORDER_PREFIX[platform]}-{platform_id}", "payment_method_id": config["payment_method_id"],
            "delivery_method_id": config["delivery_method_id"], "user_id": config["user_id"], "items": lines,
            "date": date, "client": customer}
    return parse_data(OrderIn, {k: v for k, v in body.items() if v is not None})


def to_order(snapshot: ShopSnapshot, platform: Platform, config: dict[str, Any], raw: bytes) -> OrderIn:
    """The verified platform body as an order (decimals read exactly, never as floats)."""
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, InvalidOperation) as exc:
        raise SchemaValidationError("body must be the platform's JSON order") from exc
    try:
        if platform is Platform.SHOPIFY:
            return shopify_order(snapshot, config, ShopifyOrder.model_validate(data))
        return woo_order(snapshot, config, WooOrder.model_validate(data))
    except ValidationError as exc:
        raise SchemaValidationError(describe(exc)) from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def receive(shop_id: str, platform: Platform, headers: Any, raw: bytes | None) -> tuple[dict[str, Any], int]:
    """Verify, map and record one platform webhook; (body, status): 201 created, 200 replayed or ignored."""
    raw = raw or b""
    if is_woo_ping(platform, raw):
        return AdapterResultOut(ignored="ping").model_dump(mode="json"), 200
    try:
        snapshot = load_snapshot(shop_id)
    except ShopNotFound as exc:
        raise SignatureInvalid("webhook signature does not verify") from exc
    config = get_config(shop_id, platform)
    if config is None:
        raise SignatureInvalid(f"no {platform.value} secret is set for this shop")
    verify(config["secret"], raw, headers.get(SIGNATURE_HEADER[platform]))
    topic = (headers.get(TOPIC_HEADER[platform]) or "").strip()
    if topic != ORDER_TOPIC[platform]:
        return AdapterResultOut(ignored=f"topic {topic[:60] or '(none)'}").model_dump(mode="json"), 200
    order, created = record_order(snapshot, to_order(snapshot, platform, config, raw))
    return AdapterResultOut(order=public_view(order)).model_dump(mode="json"), 201 if created else 200
