"""Shopify: the ``orders/create`` webhook (``X-Shopify-Hmac-Sha256``) as an order ``shopify-<id>``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from chalicelib.orders.adapters.base import (
    Contact,
    Lenient,
    PlatformAdapter,
    catalogue_line,
    client_of,
    epoch_of,
    free_line,
    order_in,
    rate_percent,
)
from chalicelib.orders.service import OrderIn
from chalicelib.shops.service import ShopSnapshot


class ShopifyTaxLine(Lenient):
    rate: Decimal = Field(ge=0, le=1)


class ShopifyLine(Lenient):
    title: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    sku: str | None = None
    quantity: int = Field(gt=0, le=100000)
    price: Decimal = Field(ge=0, le=10_000_000)
    tax_lines: list[ShopifyTaxLine] = []


class ShopifyShippingLine(Lenient):
    title: Annotated[str, StringConstraints(max_length=500)] = "Shipping"
    price: Decimal = Field(ge=0, le=10_000_000)
    tax_lines: list[ShopifyTaxLine] = []


class ShopifyOrder(Lenient):
    id: int = Field(gt=0)
    created_at: datetime | None = None
    taxes_included: bool = True
    line_items: Annotated[list[ShopifyLine], Field(min_length=1, max_length=500)]
    shipping_lines: Annotated[list[ShopifyShippingLine], Field(max_length=20)] = []
    customer: Contact | None = None


def shopify_order(snapshot: ShopSnapshot, config: dict[str, Any], order: ShopifyOrder) -> OrderIn:
    default_rate = Decimal(config["default_vat_rate"])

    def rate_of(taxes: list[ShopifyTaxLine]) -> Decimal:
        return rate_percent(sum((t.rate for t in taxes), Decimal(0))) if taxes else default_rate

    def gross(price: Decimal, rate: Decimal) -> Decimal:
        return price if order.taxes_included else price * (100 + rate) / 100

    lines = []
    for line in order.line_items:
        rate = rate_of(line.tax_lines)
        lines.append(catalogue_line(snapshot, line.sku, line.quantity)
                     or free_line(line.title, line.quantity, gross(line.price, rate) * line.quantity, rate))
    for shipping in order.shipping_lines:
        if shipping.price > 0:
            rate = rate_of(shipping.tax_lines)
            lines.append(free_line(f"Shipping: {shipping.title}", 1, gross(shipping.price, rate), rate))
    return order_in(ADAPTER_PREFIX, order.id, config, lines, epoch_of(order.created_at), client_of(order.customer))


ADAPTER_PREFIX = "shopify"
ADAPTER = PlatformAdapter(
    name="shopify", signature_header="x-shopify-hmac-sha256", topic_header="x-shopify-topic", order_topic="orders/create",
    order_prefix=ADAPTER_PREFIX, payload=ShopifyOrder, to_order=shopify_order,
)
