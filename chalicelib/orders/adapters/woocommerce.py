"""WooCommerce: the ``order.created`` webhook (``X-WC-Webhook-Signature``) as an order ``woo-<id>``."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from chalicelib.orders.adapters.base import (
    CENT,
    Contact,
    Lenient,
    PlatformAdapter,
    catalogue_line,
    client_of,
    epoch_of,
    free_line,
    order_in,
)
from chalicelib.orders.service import OrderIn
from chalicelib.shops.service import ShopSnapshot

_PING = re.compile(rb"^webhook_id=\d{1,20}$")


class WooTax(Lenient):
    id: int
    total: Decimal | None = None


class WooLine(Lenient):
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    sku: str | None = None
    quantity: int = Field(gt=0, le=100000)
    total: Decimal = Field(ge=0, le=10_000_000)
    total_tax: Decimal = Field(ge=0, le=10_000_000)
    taxes: list[WooTax] = []


class WooTaxLine(Lenient):
    rate_id: int
    rate_percent: Decimal | None = Field(default=None, ge=0, le=100)


class WooShippingLine(Lenient):
    method_title: Annotated[str, StringConstraints(max_length=500)] = "Shipping"
    total: Decimal = Field(ge=0, le=10_000_000)
    total_tax: Decimal = Field(ge=0, le=10_000_000)


class WooOrder(Lenient):
    id: int = Field(gt=0)
    date_created_gmt: datetime | None = None
    line_items: Annotated[list[WooLine], Field(min_length=1, max_length=500)]
    tax_lines: list[WooTaxLine] = []
    shipping_lines: Annotated[list[WooShippingLine], Field(max_length=20)] = []
    billing: Contact | None = None


def woo_order(snapshot: ShopSnapshot, config: dict[str, Any], order: WooOrder) -> OrderIn:
    default_rate = Decimal(config["default_vat_rate"])
    rates = {t.rate_id: t.rate_percent for t in order.tax_lines if t.rate_percent is not None}

    def rate_of(net: Decimal, tax: Decimal, taxes: list[WooTax]) -> Decimal:
        known = [rates[t.id] for t in taxes if t.id in rates and (t.total or 0) != 0]
        if known:
            return sum(known, Decimal(0)).quantize(CENT, ROUND_HALF_UP)
        if tax == 0:
            return Decimal(0) if taxes or net else default_rate
        return (tax * 100 / net).quantize(CENT, ROUND_HALF_UP) if net else default_rate

    lines = []
    for line in order.line_items:
        lines.append(catalogue_line(snapshot, line.sku, line.quantity)
                     or free_line(line.name, line.quantity, line.total + line.total_tax,
                                   rate_of(line.total, line.total_tax, line.taxes)))
    for shipping in order.shipping_lines:
        if shipping.total + shipping.total_tax > 0:
            lines.append(free_line(f"Shipping: {shipping.method_title}", 1, shipping.total + shipping.total_tax,
                                    rate_of(shipping.total, shipping.total_tax, [])))
    return order_in(ADAPTER_PREFIX, order.id, config, lines, epoch_of(order.date_created_gmt), client_of(order.billing))


def is_ping(raw: bytes) -> bool:
    """WooCommerce's test delivery when a webhook is saved: ``webhook_id=<n>``, nothing to record."""
    return bool(_PING.match(raw.strip()))


ADAPTER_PREFIX = "woo"
ADAPTER = PlatformAdapter(
    name="woocommerce", signature_header="x-wc-webhook-signature", topic_header="x-wc-webhook-topic",
    order_topic="order.created", order_prefix=ADAPTER_PREFIX, payload=WooOrder, to_order=woo_order, is_ping=is_ping,
)
