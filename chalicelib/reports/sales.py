"""Daily sales report of one shop: pure building logic, no I/O and no rendering.

The day is the shop's own calendar day in its time zone. Refunds are netted:
their lines, discounts, VAT and payments count negative. Payments are split by
method: an order paid part cash, part card counts in both rows with each part. Money stays in integer minor
units here; the renderers in ``sales_formats`` format it at the edge.

The day is folded one order at a time (``SalesDay``), so a paginated read of the day index never has to be held
whole: what stays is one small tuple per line (the lines are sorted by time at the end) and the running sums.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, NamedTuple
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


class ReportLine(NamedTuple):
    """One sold (or refunded) line; a tuple, not a model: a busy day holds 50,000 of them."""

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


@dataclass(frozen=True)
class SalesReport:
    """Everything every format shows; the renderers only lay it out."""

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


class SalesDay:
    """The running report of one shop day: ``add`` each order of the day index (any order), then ``report``."""

    def __init__(self, profile: dict[str, Any], day: str) -> None:
        self.profile = profile
        self.day = day
        self.zone = shop_zone(profile.get("timezone"))
        self._lines: list[tuple[int, str, int, ReportLine]] = []
        self._vat_gross: dict[Decimal, int] = defaultdict(int)
        self._vat_tax: dict[Decimal, int] = defaultdict(int)
        self._payments: dict[str, dict[str, Any]] = {}
        self._orders = self._refunds = self._sales = self._refunded = 0

    def add(self, order: dict[str, Any]) -> None:
        at = datetime.fromtimestamp(order["date"], tz=timezone.utc).astimezone(self.zone).strftime("%H:%M:%S")
        for position, line in enumerate(order["lines"]):
            self._lines.append((order["date"], order["order_id"], position, ReportLine(
                order_id=order["order_id"], time=at, is_refund=order["is_refund"], name=line["name"],
                quantity=line["quantity"], unit_price=_signed(order, line["unit_price"]), vat_rate=line["vat_rate"],
                discount=_signed(order, line.get("discount", 0)), amount=_signed(order, line["amount"]))))
        for vat in order["vats"]:
            rate = Decimal(vat["rate"]).normalize()
            self._vat_gross[rate] += _signed(order, vat["gross"])
            self._vat_tax[rate] += _signed(order, vat["vat"])
        used: set[str] = set()
        for payment in money.payments_of(order):
            row = self._payments.setdefault(payment["method_id"], {
                "method_id": payment["method_id"], "name": payment["name"], "type": payment["type"], "count": 0,
                "amount": 0})
            row["count"] += payment["method_id"] not in used
            row["amount"] += _signed(order, payment["amount"])
            used.add(payment["method_id"])
        if order["is_refund"]:
            self._refunds += 1
            self._refunded += order["total"]
        else:
            self._orders += 1
            self._sales += order["total"]

    def report(self) -> SalesReport:
        """The day so far, its lines in time order (then order id, then their place in the order)."""
        self._lines.sort(key=lambda entry: entry[:3])
        lines = [entry[3] for entry in self._lines]
        vats = [VatRow(rate=money.plain_decimal(rate), gross=gross, vat=self._vat_tax[rate],
                       net=gross - self._vat_tax[rate]) for rate, gross in sorted(self._vat_gross.items())]
        net_vat = sum(v.vat for v in vats)
        net_gross = self._sales - self._refunded
        totals = SalesTotals(orders=self._orders, refunds=self._refunds, sales_gross=self._sales,
                             refunds_gross=self._refunded, net_gross=net_gross, net_vat=net_vat,
                             net_excl_vat=net_gross - net_vat, discounts=sum(line.discount for line in lines))
        return SalesReport(shop_id=self.profile["shop_id"], shop_name=self.profile["name"], day=self.day,
                           timezone=self.zone.key, currency=self.profile["currency"], lines=lines, vats=vats,
                           payments=[PaymentRow(**p) for _, p in sorted(self._payments.items())], totals=totals)


def build_sales_report(profile: dict[str, Any], day: str, orders: Iterable[dict[str, Any]]) -> SalesReport:
    """One shop's orders of one local day (read once, page by page) as a report: lines, VAT, payments, totals."""
    fold = SalesDay(profile, day)
    for order in orders:
        fold.add(order)
    return fold.report()
