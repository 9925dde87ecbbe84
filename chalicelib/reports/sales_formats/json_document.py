"""JSON: the report as the OpenAPI document describes it (``SalesReportOut``), money as decimal strings.

Written a line at a time: the envelope's fields in ``SalesReportOut``'s order, each part through its own model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from pydantic import BaseModel

from chalicelib.reports.sales import ReportLine, SalesReport
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


def _line_out(line: ReportLine) -> bytes:
    return SalesLineOut(order_id=line.order_id, time=line.time, is_refund=line.is_refund, name=line.name,
                        quantity=line.quantity, unit_price=m(line.unit_price), vat_rate=line.vat_rate,
                        discount=m(line.discount), amount=m(line.amount)).model_dump_json().encode()


def _array(out: BinaryIO, items: list[bytes] | Iterator[bytes]) -> None:
    out.write(b"[")
    for index, item in enumerate(items):
        out.write(b"," + item if index else item)
    out.write(b"]")


def write_json(report: SalesReport, out: BinaryIO) -> None:
    totals = report.totals
    head = {"shop_id": report.shop_id, "shop_name": report.shop_name, "day": report.day, "timezone": report.timezone,
            "currency": report.currency}
    out.write(json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1].encode() + b',"lines":')
    _array(out, (_line_out(line) for line in report.lines))
    out.write(b',"vats":')
    _array(out, [SalesVatOut(rate=v.rate, gross=m(v.gross), net=m(v.net), vat=m(v.vat)).model_dump_json().encode()
                 for v in report.vats])
    out.write(b',"payments":')
    _array(out, [SalesPaymentOut(method_id=p.method_id, name=p.name, type=p.type, count=p.count,
                                 amount=m(p.amount)).model_dump_json().encode() for p in report.payments])
    out.write(b',"totals":' + SalesTotalsOut(
        orders=totals.orders, refunds=totals.refunds, sales_gross=m(totals.sales_gross),
        refunds_gross=m(totals.refunds_gross), net_gross=m(totals.net_gross), net_vat=m(totals.net_vat),
        net_excl_vat=m(totals.net_excl_vat), discounts=m(totals.discounts)).model_dump_json().encode() + b"}")


FORMAT = SalesFormat("json", "application/json", write_json)
