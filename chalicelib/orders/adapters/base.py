"""What every shop-platform adapter is: its webhook's headers and topics, its payload models, and how a payload maps
onto ``OrderIn`` (a sale, or the refunds it reports); and the mapping rules the platforms share. Mapping is pure: the
one read a refund needs (its parent sale) is handed in as a function.

The rules, the same for every platform:
- the price paid is what the customer was charged: a line is always a free line at the platform's price, whatever
  the catalogue says of its SKU;
- tax comes from the platform: a line's VAT rate is its one tax line's rate and its VAT the platform's amount; a
  line without tax is at 0 %; a line with several taxes is refused (``E_MULTIPLE_TAX_LINES``), since a fiscal
  receipt prints one VAT rate per line and their sum is a rate no device has;
- a rate the shop's device does not print (the adapter config's ``vat_rates``) is refused at intake
  (``E_VAT_RATE_UNSUPPORTED``), so the platform hears of it instead of a print failing later;
- an order in another currency than the shop's is refused (``E_CURRENCY_MISMATCH``), never converted;
- the mapped lines add up to the platform's own total to the cent, else the order is refused
  (``E_PLATFORM_TOTAL_MISMATCH``) rather than recorded at another amount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.core import money
from chalicelib.core.errors import (
    CurrencyMismatch,
    PlatformTotalMismatch,
    VatRateUnsupported,
)
from chalicelib.core.validation import parse_data
from chalicelib.orders.service import OrderIn
from chalicelib.shops.service import ShopSnapshot

ParentLoader = Callable[[str], dict[str, Any]]
"""Reads a recorded sale by its bridge ``order_id`` (a refund spreads over the parent's lines)."""


@dataclass(frozen=True)
class PlatformAdapter:
    """One shop platform. ``name`` is the path segment (``/adapters/{name}``) and the config's key. A delivery on
    ``order_topic`` is a sale; one on ``refund_topic`` carries refunds, each recorded as a refund order."""

    name: str
    signature_header: str
    topic_header: str
    order_topic: str
    refund_topic: str
    order_prefix: str
    payload: type[BaseModel]
    refund_payload: type[BaseModel]
    to_order: Callable[[ShopSnapshot, dict[str, Any], Any], OrderIn]
    to_refunds: Callable[[ShopSnapshot, dict[str, Any], Any, ParentLoader], list[OrderIn]]
    is_ping: Callable[[bytes], bool] = lambda raw: False


class Lenient(BaseModel):
    """Platform payloads carry far more than we read: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


class Contact(Lenient):
    """The buyer as both platforms name them (Shopify ``customer``, WooCommerce ``billing``)."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


def client_of(contact: Contact | None) -> dict[str, str] | None:
    """The order's ``client``: the contact's name (or e-mail) with its e-mail and phone; None without a name."""
    if contact is None:
        return None
    name = " ".join(p.strip() for p in (contact.first_name, contact.last_name) if p and p.strip()) or (contact.email or "").strip()
    if not name:
        return None
    fields = {"name": name[:120], "email": contact.email, "phone": contact.phone}
    return {k: v for k, v in fields.items() if v}


@dataclass(frozen=True)
class Line:
    """A platform line in minor units: ``gross`` before discount and ``discount`` both VAT included, ``vat`` the
    platform's VAT amount (None: the bridge computes it, e.g. for a share of a refund); ``where`` names it in the
    platform's payload for an error."""

    name: str
    quantity: int
    gross: int
    discount: int
    rate: Decimal
    vat: int | None
    where: str = ""

    @property
    def amount(self) -> int:
        return self.gross - self.discount


def minor(amount: Decimal) -> int:
    """A platform amount (exact decimal, at most cents) in minor units."""
    return money.to_minor(amount)


def check_currency(snapshot: ShopSnapshot, currency: str | None, where: str) -> None:
    shop_currency = snapshot.profile["currency"]
    if currency is not None and currency.strip().upper() != shop_currency:
        raise CurrencyMismatch(f"{where} is in {currency[:8]!r}, the shop records {shop_currency}: an order is never "
                               "converted")


def check_rate(config: dict[str, Any], rate: Decimal, where: str) -> None:
    """Refuse ``rate`` unless the shop's device prints it (the config's ``vat_rates``; a config stored before they
    were asked for accepts every rate)."""
    printable = config.get("vat_rates")
    if printable is not None and rate.normalize() not in {Decimal(r).normalize() for r in printable}:
        raise VatRateUnsupported(f"{where} is at {money.plain_decimal(rate)}% VAT, which the shop's fiscal device does "
                                 f"not print (vat_rates: {', '.join(printable) or 'none'})")


def rate_matching(config: dict[str, Any], net: int, vat: int, where: str) -> Decimal:
    """The one printable rate whose VAT on ``net`` is the platform's ``vat`` (within a minor unit), for a platform
    that gives a tax amount without its rate."""
    if vat == 0:
        return Decimal(0)
    candidates = [Decimal(r) for r in config.get("vat_rates") or []
                  if Decimal(r) > 0 and abs(Decimal(net) * Decimal(r) / 100 - vat) < 1]
    if len(candidates) != 1:
        raise VatRateUnsupported(f"{where}: tax {money.format_minor(vat)} on {money.format_minor(net)} is not the tax "
                                 "of exactly one rate the shop's fiscal device prints "
                                 f"({', '.join(config.get('vat_rates') or []) or 'none configured'})")
    return candidates[0]


def order_line(line: Line) -> dict[str, str]:
    """The ``OrderIn`` line: the unit price when the gross splits evenly over the quantity, else one line of the
    whole gross (named with its quantity), so the amount is the platform's to the cent."""
    quantity, unit = line.quantity, line.gross // line.quantity
    name = line.name[:72]
    if line.gross % line.quantity:
        quantity, unit, name = 1, line.gross, f"{line.name[:64]} x{line.quantity}"
    body = {"name": name, "quantity": str(quantity), "unit_price": money.format_minor(unit),
            "vat_rate": money.plain_decimal(line.rate)}
    if line.discount:
        body["discount"] = money.format_minor(line.discount)
    if line.vat is not None:
        body["vat"] = money.format_minor(line.vat)
    return body


def check_total(lines: list[Line], order_discount: int, platform_total: int, where: str) -> None:
    total = sum(line.amount for line in lines) - order_discount
    if total != platform_total:
        raise PlatformTotalMismatch(f"{where}: its lines, shipping, fees and discounts add up to "
                                    f"{money.format_minor(total)}, its total is {money.format_minor(platform_total)}")


def epoch_of(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp())


def order_in(order_id: str, config: dict[str, Any], lines: list[Line], *, order_discount: int = 0,
             date: int | None = None, customer: dict[str, str] | None = None,
             parent_order_id: str | None = None) -> OrderIn:
    """The order (or, with ``parent_order_id``, the refund) of the lines that cost something (free shipping
    prints nothing), each at a rate the shop's device prints. An order discount changes every line's amount, so
    its lines carry no platform VAT: the bridge computes it per rate."""
    kept = [replace(line, vat=None) if order_discount else line for line in lines if line.gross > 0]
    for line in kept:
        check_rate(config, line.rate, line.where)
    body: dict[str, Any] = {
        "order_id": order_id, "payment_method_id": config["payment_method_id"],
        "delivery_method_id": config["delivery_method_id"], "user_id": config["user_id"],
        "items": [order_line(line) for line in kept], "date": date, "client": customer,
        "discount": money.format_minor(order_discount) if order_discount else None,
        "is_refund": parent_order_id is not None or None, "parent_order_id": parent_order_id}
    return parse_data(OrderIn, {k: v for k, v in body.items() if v is not None})


def parent_lines(parent: dict[str, Any]) -> list[Line]:
    """A recorded sale's lines as weights for a refund that names none of them."""
    return [Line(line["name"], 1, line["amount"], 0, Decimal(line["vat_rate"]), None, f"the sale's line '{line['name']}'")
            for line in parent["lines"]]


def spread(amount: int, weights: list[Line]) -> list[Line]:
    """``amount`` over ``weights`` (whose amounts add up to more than zero) pro rata to their amounts, to the cent:
    each its share rounded down, the cents left one each to the largest remainders (the earlier line first on a
    tie). A refund reverses each VAT group in proportion; the platform's VAT stays on a line only when its share is
    its whole amount."""
    base = sum(line.amount for line in weights)
    shares = [amount * line.amount // base for line in weights]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(amount * weights[i].amount % base), i))
    for i in by_remainder[:amount - sum(shares)]:
        shares[i] += 1
    return [line if share == line.amount else Line(line.name, 1, share, 0, line.rate, None, line.where)
            for line, share in zip(weights, shares) if share > 0]
