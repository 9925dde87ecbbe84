"""Shopify: the ``orders/create`` webhook as an order ``shopify-<id>`` and ``refunds/create`` as a refund order
``shopify-<order id>-r<refund id>`` naming it (``X-Shopify-Hmac-Sha256``, ``X-Shopify-Topic``).

Fields as the REST Admin API's Order and Refund resources name them (shopify.dev/docs/api/admin-rest, Order:
``line_items[].discount_allocations``, ``tax_lines``, ``taxes_included``, ``total_discounts``, ``total_price``,
``shipping_lines[].discounted_price``; Refund: ``refund_line_items[].subtotal``/``total_tax``,
``order_adjustments[]`` of kind ``shipping_refund``, ``transactions[]`` of kind ``refund``). Amounts are in the
shop's currency (``currency``), never the presentment currency.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from chalicelib.core import money
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

Amount = Annotated[Decimal, Field(ge=0, le=10_000_000)]
SignedAmount = Annotated[Decimal, Field(ge=-10_000_000, le=10_000_000)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ShopifyTaxLine(Lenient):
    rate: Decimal = Field(ge=0, le=1)
    price: Amount = Decimal(0)


class ShopifyAllocation(Lenient):
    amount: Amount


class ShopifyLine(Lenient):
    title: Title | None = None
    name: Title | None = None
    quantity: int = Field(gt=0, le=100000)
    price: Amount
    total_discount: Amount = Decimal(0)
    discount_allocations: Annotated[list[ShopifyAllocation], Field(max_length=50)] | None = None
    tax_lines: Annotated[list[ShopifyTaxLine], Field(max_length=10)] = []

    @property
    def label(self) -> str:
        return self.title or self.name or "Item"


class ShopifyShippingLine(Lenient):
    title: Annotated[str, StringConstraints(max_length=500)] = "Shipping"
    price: Amount
    discounted_price: Amount | None = None
    discount_allocations: Annotated[list[ShopifyAllocation], Field(max_length=50)] = []
    tax_lines: Annotated[list[ShopifyTaxLine], Field(max_length=10)] = []


class ShopifyOrder(Lenient):
    id: int = Field(gt=0, lt=2**63)
    created_at: datetime | None = None
    currency: Annotated[str, StringConstraints(max_length=8)] | None = None
    taxes_included: bool
    total_price: Amount
    total_discounts: Amount = Decimal(0)
    line_items: Annotated[list[ShopifyLine], Field(min_length=1, max_length=500)]
    shipping_lines: Annotated[list[ShopifyShippingLine], Field(max_length=20)] = []
    customer: Contact | None = None


class ShopifyRefundLine(Lenient):
    quantity: int = Field(gt=0, le=100000)
    subtotal: Amount
    total_tax: Amount = Decimal(0)
    line_item: ShopifyLine


class ShopifyAdjustment(Lenient):
    kind: Annotated[str, StringConstraints(max_length=64)]
    amount: SignedAmount
    tax_amount: SignedAmount = Decimal(0)


class ShopifyTransaction(Lenient):
    kind: Annotated[str, StringConstraints(max_length=64)]
    status: Annotated[str, StringConstraints(max_length=64)] | None = None
    amount: Amount
    currency: Annotated[str, StringConstraints(max_length=8)] | None = None


class ShopifyRefund(Lenient):
    id: int = Field(gt=0, lt=2**63)
    order_id: int = Field(gt=0, lt=2**63)
    created_at: datetime | None = None
    refund_line_items: Annotated[list[ShopifyRefundLine], Field(max_length=500)] = []
    order_adjustments: Annotated[list[ShopifyAdjustment], Field(max_length=100)] = []
    transactions: Annotated[list[ShopifyTransaction], Field(max_length=100)] = []


def _tax(taxes: list[ShopifyTaxLine], where: str) -> tuple[Decimal, int]:
    """The line's one VAT rate (percent) and the platform's VAT amount; no tax is 0 %."""
    charged = [t for t in taxes if t.rate > 0 or t.price > 0]
    if len(charged) > 1:
        rates = ", ".join(f"{money.plain_decimal(t.rate * 100)}%" for t in charged)
        raise MultipleTaxLines(f"{where} carries {len(charged)} taxes ({rates}): a fiscal receipt prints one VAT rate "
                               "per line")
    rate = (charged[0].rate * 100).normalize() if charged else Decimal(0)
    return rate, sum((minor(t.price) for t in taxes), 0)


def _line(config: dict[str, Any], line: ShopifyLine, taxes_included: bool, where: str) -> Line:
    rate, vat = _tax(line.tax_lines, where)
    discount = (sum((minor(a.amount) for a in line.discount_allocations), 0) if line.discount_allocations is not None
                else minor(line.total_discount))
    gross = minor(line.price) * line.quantity + (0 if taxes_included else vat)
    return Line(line.label, line.quantity, gross, discount, rate, vat, where)


def _shipping(config: dict[str, Any], shipping: ShopifyShippingLine, taxes_included: bool, where: str) -> Line:
    rate, vat = _tax(shipping.tax_lines, where)
    if shipping.discount_allocations:
        discount = sum((minor(a.amount) for a in shipping.discount_allocations), 0)
    else:
        discount = max(0, minor(shipping.price) - minor(shipping.discounted_price or shipping.price))
    gross = minor(shipping.price) + (0 if taxes_included else vat)
    return Line(f"Shipping: {shipping.title}", 1, gross, discount, rate, vat, where)


def shopify_order(snapshot: ShopSnapshot, config: dict[str, Any], order: ShopifyOrder) -> OrderIn:
    """Lines at the price paid less their discount allocations, shipping less its discount, tax as Shopify charged
    it; a discount no line or shipping carries (an older payload's ``total_discounts``) goes off the whole order."""
    where = f"Shopify order {order.id}"
    check_currency(snapshot, order.currency, where)
    lines = [_line(config, line, order.taxes_included, f"line_items[{i}] '{line.label[:40]}'")
             for i, line in enumerate(order.line_items)]
    lines += [_shipping(config, shipping, order.taxes_included, f"shipping_lines[{i}] '{shipping.title[:40]}'")
              for i, shipping in enumerate(order.shipping_lines)]
    unallocated = max(0, minor(order.total_discounts) - sum(line.discount for line in lines))
    check_total(lines, unallocated, minor(order.total_price), where)
    return order_in(f"{ADAPTER_PREFIX}-{order.id}", config, lines, order_discount=unallocated,
                    date=epoch_of(order.created_at), customer=client_of(order.customer))


def shopify_refunds(snapshot: ShopSnapshot, config: dict[str, Any], refund: ShopifyRefund,
                    parent: ParentLoader) -> list[OrderIn]:
    """The money Shopify returned (successful ``refund`` transactions) as one refund order. Its lines are the
    refunded line items and shipping at Shopify's amounts and tax when they add up to that money (``subtotal`` with
    or without ``total_tax``, whichever basis the shop prices in); otherwise (a refund discrepancy) the money is
    spread over them pro rata, or over the sale's lines when the refund names none. No money, no refund order."""
    where = f"Shopify refund {refund.id}"
    paid = [t for t in refund.transactions if t.kind == "refund" and t.status == "success"]
    for transaction in paid:
        check_currency(snapshot, transaction.currency, where)
    amount = sum((minor(t.amount) for t in paid), 0)
    if amount == 0:
        return []
    taxed: list[Line] = []
    untaxed: list[Line] = []
    for i, item in enumerate(refund.refund_line_items):
        named = f"{where} refund_line_items[{i}] '{item.line_item.label[:40]}'"
        rate, _ = _tax(item.line_item.tax_lines, named)
        vat, subtotal = minor(item.total_tax), minor(item.subtotal)
        taxed.append(Line(item.line_item.label, item.quantity, subtotal + vat, 0, rate, vat, named))
        untaxed.append(Line(item.line_item.label, item.quantity, subtotal, 0, rate, vat, named))
    shipping: list[Line] = []
    for i, adjustment in enumerate(refund.order_adjustments):
        net, vat = -minor(adjustment.amount), -minor(adjustment.tax_amount)
        if adjustment.kind == "shipping_refund" and net > 0:
            named = f"{where} order_adjustments[{i}]"
            shipping.append(Line("Shipping", 1, net + vat, 0, rate_matching(config, net, vat, named), vat, named))
    lines = next((basis for basis in (taxed + shipping, untaxed + shipping)
                  if sum(line.amount for line in basis) == amount), None)
    if lines is None:
        priced = [line for line in taxed + shipping if line.amount > 0]
        lines = spread(amount, priced or parent_lines(parent(f"{ADAPTER_PREFIX}-{refund.order_id}")))
    return [order_in(f"{ADAPTER_PREFIX}-{refund.order_id}-r{refund.id}", config, lines,
                     date=epoch_of(refund.created_at), parent_order_id=f"{ADAPTER_PREFIX}-{refund.order_id}")]


ADAPTER_PREFIX = "shopify"
ADAPTER = PlatformAdapter(
    name="shopify", signature_header="x-shopify-hmac-sha256", topic_header="x-shopify-topic",
    order_topic="orders/create", refund_topic="refunds/create", order_prefix=ADAPTER_PREFIX,
    payload=ShopifyOrder, refund_payload=ShopifyRefund, to_order=shopify_order, to_refunds=shopify_refunds,
)
