"""What every shop-platform adapter is: its webhook's headers and topic, its payload model, and how the payload
maps onto ``OrderIn``; and the mapping helpers the platforms share. Mapping is pure: no I/O here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.core import money
from chalicelib.core.validation import parse_data
from chalicelib.orders.service import OrderIn
from chalicelib.shops.catalog import CatalogKind
from chalicelib.shops.service import ShopSnapshot

CENT = Decimal("0.01")
_SKU = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class PlatformAdapter:
    """One shop platform. ``name`` is the path segment (``/adapters/{name}``) and the config's key."""

    name: str
    signature_header: str
    topic_header: str
    order_topic: str
    order_prefix: str
    payload: type[BaseModel]
    to_order: Callable[[ShopSnapshot, dict[str, Any], Any], OrderIn]
    is_ping: Callable[[bytes], bool] = lambda raw: False


class Lenient(BaseModel):
    """Platform payloads carry far more than we read: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


def rate_percent(fraction_sum: Decimal) -> Decimal:
    return (fraction_sum * 100).quantize(CENT, ROUND_HALF_UP)


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


def free_line(name: str, quantity: int, gross_total: Decimal, rate: Decimal) -> dict[str, str]:
    """A free line at the price paid; a total that does not split evenly over the quantity stays one line."""
    cents = money.to_minor(gross_total)
    if cents % quantity == 0:
        return {"name": name[:72], "quantity": str(quantity), "unit_price": money.format_minor(cents // quantity),
                "vat_rate": money.plain_decimal(rate)}
    return {"name": f"{name[:64]} x{quantity}", "quantity": "1", "unit_price": money.format_minor(cents),
            "vat_rate": money.plain_decimal(rate)}


def catalogue_line(snapshot: ShopSnapshot, sku: str | None, quantity: int) -> dict[str, str] | None:
    if sku and _SKU.match(sku) and snapshot.catalog.get(CatalogKind.ITEMS, sku) is not None:
        return {"item_id": sku, "quantity": str(quantity)}
    return None


def epoch_of(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return int(aware.timestamp())


def order_in(prefix: str, platform_id: int, config: dict[str, Any], lines: list[dict[str, str]],
              date: int | None, customer: dict[str, str] | None) -> OrderIn:
    body = {"order_id": f"{prefix}-{platform_id}", "payment_method_id": config["payment_method_id"],
            "delivery_method_id": config["delivery_method_id"], "user_id": config["user_id"], "items": lines,
            "date": date, "client": customer}
    return parse_data(OrderIn, {k: v for k, v in body.items() if v is not None})


