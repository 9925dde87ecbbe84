"""WooCommerce: the ``order.created`` webhook as an order ``woo-<id>``, and the refunds an ``order.updated`` delivery
lists as refund orders ``woo-<id>-r<refund id>`` naming it (``X-WC-Webhook-Signature``, ``X-WC-Webhook-Topic``).

Fields as the REST API v3 Order resource names them (woocommerce-rest-api-docs, wp-api-v3/_orders.md "Order
properties", "Line items", "Tax lines", "Shipping lines", "Fee lines", "Refunds"): a line's ``subtotal`` is before
coupons and ``total`` after, both without tax (``subtotal_tax``, ``total_tax``); ``tax_lines[].rate_percent`` (WooCommerce
3.7+) gives a tax's rate; a fee may be negative (a discount); ``refunds[]`` lists each refund's id and (negative)
``total``, WooCommerce sends no refund webhook of its own. Names arrive HTML-escaped (``&ndash;``) and are printed
unescaped.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

from chalicelib.core.errors import MultipleTaxLines
from chalicelib.orders.adapters.base import (
    Contact,
    Lenient,
    Line,
    ParentLoader,
    PlatformAdapter,
    check_currency,
    check_total,
    client_of,
    epoch_of,
    minor,
    order_in,
    parent_lines,
    rate_matching,
    spread,
)
from chalicelib.orders.service import OrderIn
from chalicelib.shops.service import ShopSnapshot

_PING = re.compile(rb"^webhook_id=\d{1,20}$")
Amount = Annotated[Decimal, Field(ge=0, le=10_000_000)]
SignedAmount = Annotated[Decimal, Field(ge=-10_000_000, le=10_000_000)]


def _blank_as_none(value: Any) -> Any:
    """WooCommerce writes an empty string for a tax it did not compute."""
    return None if value == "" else value


class WooTax(Lenient):
    id: int
    total: Annotated[SignedAmount | None, BeforeValidator(_blank_as_none)] = None


class WooLine(Lenient):
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    quantity: int = Field(gt=0, le=100000)
    subtotal: Amount | None = None
    subtotal_tax: Amount | None = None
    total: Amount
    total_tax: Amount
    taxes: Annotated[list[WooTax], Field(max_length=10)] = []


class WooTaxLine(Lenient):
    rate_id: int
    rate_percent: Decimal | None = Field(default=None, ge=0, le=100)


class WooShippingLine(Lenient):
    method_title: Annotated[str, StringConstraints(max_length=500)] = "Shipping"
    total: Amount
    total_tax: Amount
    taxes: Annotated[list[WooTax], Field(max_length=10)] = []


class WooFeeLine(Lenient):
    name: Annotated[str, StringConstraints(max_length=500)] = "Fee"
    total: SignedAmount
    total_tax: SignedAmount = Decimal(0)
    taxes: Annotated[list[WooTax], Field(max_length=10)] = []


class WooRefundEntry(Lenient):
    id: int = Field(gt=0, lt=2**63)
    total: SignedAmount


class WooOrder(Lenient):
    id: int = Field(gt=0, lt=2**63)
    currency: Annotated[str, StringConstraints(max_length=8)] | None = None
    date_created_gmt: datetime | None = None
    total: Amount
    line_items: Annotated[list[WooLine], Field(min_length=1, max_length=500)]
    tax_lines: Annotated[list[WooTaxLine], Field(max_length=50)] = []
    shipping_lines: Annotated[list[WooShippingLine], Field(max_length=20)] = []
    fee_lines: Annotated[list[WooFeeLine], Field(max_length=50)] = []
    refunds: Annotated[list[WooRefundEntry], Field(max_length=100)] = []
    billing: Contact | None = None


def _rate(config: dict[str, Any], order: WooOrder, net: int, vat: int, taxes: list[WooTax], where: str) -> Decimal:
    """The line's one VAT rate: its tax's ``rate_percent``, else the printable rate that tax amount is of the net;
    no tax is 0 %."""
    charged = [t for t in taxes if t.total]
    if len(charged) > 1:
        raise MultipleTaxLines(f"{where} carries {len(charged)} taxes (rate ids "
                               f"{', '.join(str(t.id) for t in charged)}): a fiscal receipt prints one VAT rate per line")
    percent = {t.rate_id: t.rate_percent for t in order.tax_lines if t.rate_percent is not None}
    if charged and charged[0].id in percent:
        return percent[charged[0].id].normalize()
    return rate_matching(config, net, vat, where)


def _lines(config: dict[str, Any], order: WooOrder) -> tuple[list[Line], int]:
    """Items (coupons as the difference of ``subtotal`` and ``total``), shipping and positive fees as lines; negative
    fees as the order's discount."""
    lines: list[Line] = []
    for i, item in enumerate(order.line_items):
        where = f"line_items[{i}] '{item.name[:40]}'"
        net, vat = minor(item.total), minor(item.total_tax)
        before = minor(item.subtotal) + minor(item.subtotal_tax or 0) if item.subtotal is not None else net + vat
        gross = max(before, net + vat)
        lines.append(Line(html.unescape(item.name), item.quantity, gross, gross - net - vat,
                          _rate(config, order, net, vat, item.taxes, where), vat, where))
    for i, shipping in enumerate(order.shipping_lines):
        net, vat = minor(shipping.total), minor(shipping.total_tax)
        where = f"shipping_lines[{i}] '{shipping.method_title[:40]}'"
        lines.append(Line(f"Shipping: {html.unescape(shipping.method_title)}", 1, net + vat, 0,
                          _rate(config, order, net, vat, shipping.taxes, where), vat, where))
    discount = 0
    for i, fee in enumerate(order.fee_lines):
        net, vat = minor(fee.total), minor(fee.total_tax)
        if net + vat < 0:
            discount -= net + vat
        elif net + vat > 0:
            where = f"fee_lines[{i}] '{fee.name[:40]}'"
            lines.append(Line(f"Fee: {html.unescape(fee.name)}", 1, net + vat, 0, _rate(config, order, net, vat, fee.taxes, where),
                              vat, where))
    return lines, discount


def woo_order(snapshot: ShopSnapshot, config: dict[str, Any], order: WooOrder) -> OrderIn:
    where = f"WooCommerce order {order.id}"
    check_currency(snapshot, order.currency, where)
    lines, discount = _lines(config, order)
    check_total(lines, discount, minor(order.total), where)
    return order_in(f"{ADAPTER_PREFIX}-{order.id}", config, lines, order_discount=discount,
                    date=epoch_of(order.date_created_gmt), customer=client_of(order.billing))


def woo_refunds(snapshot: ShopSnapshot, config: dict[str, Any], order: WooOrder,
                parent: ParentLoader) -> list[OrderIn]:
    """Each refund the order lists, as a refund order of its amount spread over the sale's lines pro rata (the
    webhook names the refund's amount, not its lines); recording one twice is a replay of the same refund."""
    check_currency(snapshot, order.currency, f"WooCommerce order {order.id}")
    refunds = [refund for refund in order.refunds if refund.total < 0]
    if not refunds:
        return []
    sale = parent_lines(parent(f"{ADAPTER_PREFIX}-{order.id}"))
    return [order_in(f"{ADAPTER_PREFIX}-{order.id}-r{refund.id}", config, spread(-minor(refund.total), sale),
                     parent_order_id=f"{ADAPTER_PREFIX}-{order.id}") for refund in refunds]


def is_ping(raw: bytes) -> bool:
    """WooCommerce's test delivery when a webhook is saved: ``webhook_id=<n>``, nothing to record."""
    return bool(_PING.match(raw.strip()))


ADAPTER_PREFIX = "woo"
ADAPTER = PlatformAdapter(
    name="woocommerce", signature_header="x-wc-webhook-signature", topic_header="x-wc-webhook-topic",
    order_topic="order.created", refund_topic="order.updated", order_prefix=ADAPTER_PREFIX,
    payload=WooOrder, refund_payload=WooOrder, to_order=woo_order, to_refunds=woo_refunds, is_ping=is_ping,
)
