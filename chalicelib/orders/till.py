"""Orders recorded at the till (DESIGN §5, store and forward): the order record of a sale the edge printed itself.

``till_order`` is pure. The order is the printed receipt: its lines, payments and total are taken as the device
printed them, never recomputed from today's catalogue; the catalogue only lends names (payment and delivery
methods, the cashier, a client). A name it no longer has is shown as its id: a sale that was printed is never
refused for a catalogue that changed while the till was offline.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from chalicelib.contracts import TillSale
from chalicelib.core import money
from chalicelib.shops.catalog import CatalogKind
from chalicelib.shops.service import ShopSnapshot

SOURCE_TILL = "till"
TILL_DELIVERY = "till"  # the delivery method of a sale handed over at the counter, when the till names none


def fingerprint(sale: TillSale) -> str:
    """Equal for the same upload: the edge sends the journaled sale, byte for byte the same on every retry."""
    return hashlib.sha256(sale.model_dump_json().encode()).hexdigest()


def _name(snapshot: ShopSnapshot, kind: CatalogKind, entry_id: str) -> str:
    entry = snapshot.catalog.get(kind, entry_id)
    return str(entry["name"]) if entry is not None else entry_id


def till_order(snapshot: ShopSnapshot, sale: TillSale, now: int) -> dict[str, Any]:
    """The ``terminated`` order a till sale becomes, with ``source: "till"``, its fiscal record and no job."""
    receipt = sale.receipt
    lines = [{"item_id": None, "name": line.name, "quantity": money.plain_decimal(line.quantity),
              "unit_price": line.unit_price, "vat_rate": money.plain_decimal(line.vat_rate),
              "discount": line.discount, "amount": line.amount} for line in receipt.lines]
    vats = money.vat_breakdown([(Decimal(line["vat_rate"]), line["amount"]) for line in lines])
    payments = [{"method_id": p.method_id, "name": _name(snapshot, CatalogKind.PAYMENT_METHODS, p.method_id),
                 "type": p.type.value, "amount": p.amount, **({"tendered": p.tendered} if p.tendered else {})}
                for p in receipt.tender]
    delivery_id = sale.delivery_method_id or TILL_DELIVERY
    if sale.client_id is not None:
        customer = snapshot.catalog.get(CatalogKind.CLIENTS, sale.client_id)
    else:
        customer = sale.customer.model_dump(exclude_none=True) if sale.customer is not None else None
    return {
        "order_id": receipt.order_id,
        "order_internal_id": receipt.order_internal_id,
        "shop_id": snapshot.shop_id,
        "merchant_id": snapshot.profile["merchant_id"],
        "status": "terminated",
        "source": SOURCE_TILL,
        "fingerprint": fingerprint(sale),
        "created_at": now,
        "date": sale.sold_at,
        "currency": receipt.currency,
        "lines": lines,
        "total": receipt.total,
        "discount": sum(line["discount"] for line in lines),
        "vat_total": sum(int(v["vat"]) for v in vats),
        "vats": [{**v, "rate": money.plain_decimal(Decimal(v["rate"]))} for v in vats],
        "payments": payments,
        "delivery": {"method_id": delivery_id, "name": _name(snapshot, CatalogKind.DELIVERY_METHODS, delivery_id)},
        "user": {"user_id": receipt.operator, "name": _name(snapshot, CatalogKind.USERS, receipt.operator)},
        "client_id": sale.client_id,
        "customer": customer,
        "is_refund": False,
        "parent_order_id": None,
        "parent": None,
        "printer": receipt.printer,
        "job_id": receipt.job_id,
        "fiscal": sale.fiscal.model_dump(mode="json"),
    }
