"""JSON: the report as the OpenAPI document describes it (``SalesReportOut``), money as decimal strings."""

from __future__ import annotations

from pydantic import BaseModel

from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, m


class SalesLineOut(BaseModel):
    order_id: str
    time: str
    is_refund: bool
    name: str
    quantity: str
    unit_price: str
    vat_rate: str
    discount: str
    amount: str


class SalesVatOut(BaseModel):
    rate: str
    gross: str
    net: str
    vat: str


class SalesPaymentOut(BaseModel):
    method_id: str
    name: str
    type: str
    count: int
    amount: str


class SalesTotalsOut(BaseModel):
    orders: int
    refunds: int
    sales_gross: str
    refunds_gross: str
    net_gross: str
    net_vat: str
    net_excl_vat: str
    discounts: str


class SalesReportOut(BaseModel):
    """One shop day: its lines, VAT per rate, payments per method and totals (refunds count negative)."""

    shop_id: str
    shop_name: str
    day: str
    timezone: str
    currency: str
    lines: list[SalesLineOut]
    vats: list[SalesVatOut]
    payments: list[SalesPaymentOut]
    totals: SalesTotalsOut


def report_out(report: SalesReport) -> SalesReportOut:
    totals = report.totals
    return SalesReportOut(
        shop_id=report.shop_id, shop_name=report.shop_name, day=report.day, timezone=report.timezone,
        currency=report.currency,
        lines=[SalesLineOut(order_id=line.order_id, time=line.time, is_refund=line.is_refund, name=line.name,
                            quantity=line.quantity, unit_price=m(line.unit_price), vat_rate=line.vat_rate,
                            discount=m(line.discount), amount=m(line.amount)) for line in report.lines],
        vats=[SalesVatOut(rate=v.rate, gross=m(v.gross), net=m(v.net), vat=m(v.vat)) for v in report.vats],
        payments=[SalesPaymentOut(method_id=p.method_id, name=p.name, type=p.type, count=p.count, amount=m(p.amount))
                  for p in report.payments],
        totals=SalesTotalsOut(orders=totals.orders, refunds=totals.refunds, sales_gross=m(totals.sales_gross),
                              refunds_gross=m(totals.refunds_gross), net_gross=m(totals.net_gross),
                              net_vat=m(totals.net_vat), net_excl_vat=m(totals.net_excl_vat),
                              discounts=m(totals.discounts)))


def render_json(report: SalesReport) -> str:
    return report_out(report).model_dump_json()


FORMAT = SalesFormat("json", "application/json", render_json)
