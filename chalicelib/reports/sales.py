"""Daily sales report of one shop: pure building logic, no I/O and no rendering.

The day is the shop's own calendar day in its time zone. Refunds are netted:
their lines, discounts, VAT and payments count negative. Payments are split by
method: an order paid part cash, part card counts in both rows with each part. Money stays in integer minor
units here; the renderers in ``sales_formats`` format it at the edge.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from chalicelib.core import money


def shop_zone(name: str | None) -> ZoneInfo:
    """The shop's time zone; UTC when the profile names none or an unknown one."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(zone_name: str | None, epoch_seconds: int) -> str:
    """The shop's calendar day (YYYY-MM-DD) at that instant."""
    return datetime.fromtimestamp(epoch_seconds, tz=shop_zone(zone_name)).date().isoformat()


class ReportLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    order_id: str
    time: str
    is_refund: bool
    name: str
    quantity: str
    unit_price: int
    vat_rate: str
    discount: int
    amount: int


class VatRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    rate: str
    gross: int
    net: int
    vat: int


class PaymentRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    method_id: str
    name: str
    type: str
    count: int  # orders that paid (or were refunded) with this method
    amount: int


class SalesTotals(BaseModel):
    model_config = ConfigDict(frozen=True)
    orders: int
    refunds: int
    sales_gross: int
    refunds_gross: int
    net_gross: int
    net_vat: int
    net_excl_vat: int
    discounts: int


class SalesReport(BaseModel):
    """Everything every format shows; the renderers only lay it out."""

    model_config = ConfigDict(frozen=True)
    shop_id: str
    shop_name: str
    day: str
    timezone: str
    currency: str
    lines: list[ReportLine]
    vats: list[VatRow]
    payments: list[PaymentRow]
    totals: SalesTotals


def _signed(order: dict[str, Any], amount: int) -> int:
    return -amount if order["is_refund"] else amount


def build_sales_report(profile: dict[str, Any], day: str, orders: list[dict[str, Any]]) -> SalesReport:
    """One shop's orders of one local day as a report: lines, VAT per rate, payments, totals."""
    zone = shop_zone(profile.get("timezone"))
    ordered = sorted(orders, key=lambda o: (o["date"], o["order_id"]))
    lines: list[ReportLine] = []
    vat_gross: dict[Decimal, int] = defaultdict(int)
    vat_tax: dict[Decimal, int] = defaultdict(int)
    payments: dict[str, dict[str, Any]] = {}
    for order in ordered:
        at = datetime.fromtimestamp(order["date"], tz=timezone.utc).astimezone(zone).strftime("%H:%M:%S")
        for line in order["lines"]:
            lines.append(ReportLine(order_id=order["order_id"], time=at, is_refund=order["is_refund"],
                                    name=line["name"], quantity=line["quantity"],
                                    unit_price=_signed(order, line["unit_price"]), vat_rate=line["vat_rate"],
                                    discount=_signed(order, line.get("discount", 0)),
                                    amount=_signed(order, line["amount"])))
        for vat in order["vats"]:
            rate = Decimal(vat["rate"]).normalize()
            vat_gross[rate] += _signed(order, vat["gross"])
            vat_tax[rate] += _signed(order, vat["vat"])
        used: set[str] = set()
        for payment in money.payments_of(order):
            row = payments.setdefault(payment["method_id"], {"method_id": payment["method_id"], "name": payment["name"],
                                                              "type": payment["type"], "count": 0, "amount": 0})
            row["count"] += payment["method_id"] not in used
            row["amount"] += _signed(order, payment["amount"])
            used.add(payment["method_id"])
    vats = [VatRow(rate=money.plain_decimal(rate), gross=gross, vat=vat_tax[rate], net=gross - vat_tax[rate])
            for rate, gross in sorted(vat_gross.items())]
    sales = sum(o["total"] for o in ordered if not o["is_refund"])
    refunds = sum(o["total"] for o in ordered if o["is_refund"])
    net_vat = sum(v.vat for v in vats)
    totals = SalesTotals(orders=sum(1 for o in ordered if not o["is_refund"]),
                         refunds=sum(1 for o in ordered if o["is_refund"]), sales_gross=sales, refunds_gross=refunds,
                         net_gross=sales - refunds, net_vat=net_vat, net_excl_vat=sales - refunds - net_vat,
                         discounts=sum(line.discount for line in lines))
    return SalesReport(shop_id=profile["shop_id"], shop_name=profile["name"], day=day, timezone=zone.key,
                       currency=profile["currency"], lines=lines, vats=vats,
                       payments=[PaymentRow(**p) for _, p in sorted(payments.items())], totals=totals)
