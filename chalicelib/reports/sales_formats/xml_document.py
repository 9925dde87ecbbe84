"""XML: ``<salesReport>`` with its lines, VAT rates, payments and totals as attributes, written element by element."""

from __future__ import annotations

from typing import BinaryIO
from xml.sax.saxutils import XMLGenerator

from chalicelib.reports.rendering import printable
from chalicelib.reports.sales import SalesReport
from chalicelib.reports.sales_formats.base import SalesFormat, m, totals


def write_xml(report: SalesReport, out: BinaryIO) -> None:
    xml = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)

    def empty(tag: str, attributes: dict[str, str]) -> None:
        xml.startElement(tag, {name: printable(value) for name, value in attributes.items()})
        xml.endElement(tag)

    xml.startDocument()
    xml.startElement("salesReport", {name: printable(value) for name, value in (
        ("shopId", report.shop_id), ("shop", report.shop_name), ("day", report.day), ("timezone", report.timezone),
        ("currency", report.currency))})
    xml.startElement("lines", {})
    for l in report.lines:
        empty("line", {"orderId": l.order_id, "time": l.time, "refund": str(l.is_refund).lower(), "name": l.name,
                       "quantity": l.quantity, "unitPrice": m(l.unit_price), "vatRate": l.vat_rate,
                       "discount": m(l.discount), "amount": m(l.amount)})
    xml.endElement("lines")
    xml.startElement("vats", {})
    for v in report.vats:
        empty("vat", {"rate": v.rate, "gross": m(v.gross), "net": m(v.net), "vat": m(v.vat)})
    xml.endElement("vats")
    xml.startElement("payments", {})
    for p in report.payments:
        empty("payment", {"methodId": p.method_id, "name": p.name, "type": p.type, "count": str(p.count),
                          "amount": m(p.amount)})
    xml.endElement("payments")
    empty("totals", dict(totals(report)))
    xml.endElement("salesReport")
    xml.endDocument()


FORMAT = SalesFormat("xml", "application/xml", write_xml)
